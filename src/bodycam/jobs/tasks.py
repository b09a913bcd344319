"""Job entry points. Each is idempotent: running it twice does no harm."""

import django

django.setup()

from bodycam.custody.fixity import run_fixity_check, sweep_orphans  # noqa: E402
from bodycam.jobs.celery_app import app  # noqa: E402


@app.task(name="bodycam.jobs.tasks.fixity_check")
def fixity_check():
    checked, problems = run_fixity_check()
    return {"checked": checked, "problems": len(problems)}


@app.task(name="bodycam.jobs.tasks.orphan_sweep")
def orphan_sweep():
    return sweep_orphans()


@app.task(name="bodycam.jobs.tasks.audit_checkpoint")
def audit_checkpoint():
    from bodycam.custody.chain import checkpoint_dict, create_checkpoint

    return checkpoint_dict(create_checkpoint(actor="job:audit-checkpoint"))


@app.task(name="bodycam.jobs.tasks.retention_sweep")
def retention_sweep():
    from bodycam.jobs.services import submit

    job = submit("retention.sweep", object_type="retention", inline=True)
    return {"job": str(job.id), "status": job.status}


@app.task(name="bodycam.jobs.tasks.run_job")
def run_job(job_id: str):
    from bodycam.jobs.services import run

    job = run(job_id)
    return {"job": str(job.id), "status": job.status}
