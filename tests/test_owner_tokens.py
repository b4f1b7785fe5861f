"""Owner tokens: signed by the server, checked on restore, with a secret that survives restarts."""
import stat

from studio.config.settings import Settings
from studio.service.owner_tokens import SECRET_FILE, OwnerTokens, load_or_create_secret


def test_only_tokens_signed_with_the_secret_are_valid():
    tokens = OwnerTokens("server-secret")
    token = tokens.issue()
    assert tokens.valid(token) and token != tokens.issue()
    ident = token.split(".")[0]
    forged = f"{ident}.{'0' * 32}"
    other_server = OwnerTokens("another-secret").issue()
    for bad in (forged, other_server, ident, "a" * 32, token + "\n", token.upper(), None, 5, ["x"], ""):
        assert not tokens.valid(bad), bad


def test_the_generated_secret_is_private_and_kept_across_restarts(tmp_path):
    runs = tmp_path / "runs"
    first = load_or_create_secret(runs)
    path = runs / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(runs) == first and len(first) == 64
    token = OwnerTokens.for_settings(Settings(runs_dir=runs)).issue()
    assert OwnerTokens.for_settings(Settings(runs_dir=runs)).valid(token)   # a restart keeps tokens valid
    assert not list(runs.glob("*.tmp-*"))


def test_a_secret_from_the_environment_wins_and_writes_nothing(tmp_path):
    settings = Settings.from_env({"STUDIO_SECRET": "from-env", "STUDIO_RUNS_DIR": str(tmp_path / "runs")})
    token = OwnerTokens.for_settings(settings).issue()
    assert OwnerTokens("from-env").valid(token)
    assert not (tmp_path / "runs" / SECRET_FILE).exists()


def test_a_secret_file_too_short_to_sign_with_is_replaced(tmp_path):
    """An empty file (a crash mid-write) once stopped the studio from starting, and "abc" became a
    three-character HMAC key; both are now replaced by a proper secret, kept from then on."""
    for content in ("", "abc\n"):
        runs = tmp_path / f"runs-{len(content)}"
        runs.mkdir()
        (runs / SECRET_FILE).write_text(content)
        secret = load_or_create_secret(runs)
        assert len(secret) == 64 and (runs / SECRET_FILE).read_text().strip() == secret
        assert stat.S_IMODE((runs / SECRET_FILE).stat().st_mode) == 0o600
        assert load_or_create_secret(runs) == secret
        assert sorted(p.name for p in runs.iterdir()) == [SECRET_FILE]     # nothing left beside it
        assert OwnerTokens(secret).valid(OwnerTokens(secret).issue())


def test_a_secret_another_process_made_a_moment_ago_is_used_not_removed(tmp_path, monkeypatch):
    """Only a damaged file is removed: a secret that appeared after this process found none (another process
    starting on the same runs folder) stands, and both use it."""
    import studio.service.owner_tokens as owner_tokens

    theirs = "f" * 64
    (tmp_path / SECRET_FILE).write_text(theirs + "\n")
    read = owner_tokens._read_file
    calls = []

    def none_at_first(path):   # this process looked before the other one's link
        calls.append(path)
        return None if len(calls) == 1 else read(path)
    monkeypatch.setattr(owner_tokens, "_read_file", none_at_first)
    assert load_or_create_secret(tmp_path) == theirs
    assert (tmp_path / SECRET_FILE).read_text().strip() == theirs
