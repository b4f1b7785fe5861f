"""Who is asking (studio/service/people.py): the person a request is charged to, and what a session holds."""
from studio.service.people import UNKNOWN_ADDRESS, Caller, SessionPeople, token_person


def test_a_signed_in_user_is_one_person_on_every_device_and_address():
    phone, laptop = Caller.of("10.0.0.7", token="aaa", hf_user="anna"), Caller.of("10.9.9.9", hf_user="anna")
    assert phone.person == laptop.person == "hf:anna"
    assert phone.signed_in and laptop.signed_in
    assert (phone.address, laptop.address) == ("10.0.0.7", "10.9.9.9")


def test_tokens_make_different_people_behind_one_address():
    alice, bob = Caller.of("10.0.0.7", token="token-a"), Caller.of("10.0.0.7", token="token-b")
    assert alice.person != bob.person
    assert alice.address == bob.address == "10.0.0.7"
    assert not alice.signed_in


def test_the_person_key_does_not_reveal_the_token():
    key = token_person("secret-owner-token")
    assert key.startswith("token:") and "secret-owner-token" not in key
    assert key == token_person("secret-owner-token")          # stable: the same token is the same person


def test_without_token_or_sign_in_an_address_is_one_anonymous_person():
    first, second = Caller.of("10.0.0.7"), Caller.of("10.0.0.7", token="")
    assert first.person == second.person == "anon@10.0.0.7"
    assert Caller.of(None).address == UNKNOWN_ADDRESS


def test_sessions_remember_their_token_and_presenter_mark():
    sessions = SessionPeople()
    sessions.remember("s1", "tok-1")
    sessions.mark_presenter("s2", True)
    assert sessions.token("s1") == "tok-1" and not sessions.is_presenter("s1")
    assert sessions.is_presenter("s2") and sessions.token("s2") == ""
    assert sessions.token("never-seen") == "" and not sessions.is_presenter(None)
    sessions.remember("s1", "")                                # an empty token never erases a known one
    assert sessions.token("s1") == "tok-1"


def test_the_oldest_sessions_are_forgotten_beyond_the_limit():
    sessions = SessionPeople(limit=3)
    for number in range(4):
        sessions.remember(f"s{number}", f"tok-{number}")
    assert sessions.token("s0") == ""                          # forgotten; a page reload registers again
    assert [sessions.token(f"s{n}") for n in (1, 2, 3)] == ["tok-1", "tok-2", "tok-3"]
