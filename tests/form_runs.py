"""trained_through_the_form(studio, owner, form): a run started by the Train tab's handler, as a person
would start it, waited for, and required to have completed; returns its run id."""


def trained_through_the_form(studio, owner: str, form, timeout: float = 600) -> str:
    from studio.ui.handlers import train as ht

    job = ht.start_training(studio, owner, form)
    studio.wait_job(job.job_id, timeout=timeout)  # a bound on a hang, not on speed
    assert job.status == "completed", job.error
    return job.run_id
