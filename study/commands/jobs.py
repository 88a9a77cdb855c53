"""`python -m study jobs list | cancel | worker`: the background-training queue
(see study/jobs.py for how workers, queues and cancels work)."""
from __future__ import annotations

from study.commands import emit


def register(subparsers) -> None:
    jobs = subparsers.add_parser("jobs", help="background trainings: list, cancel, run a device's queue")
    sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    sub.required = True

    listing = sub.add_parser("list", help="the newest jobs and their status")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=list_command)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", type=int)
    cancel.add_argument("--json", action="store_true", help="print one JSON object")
    cancel.set_defaults(handler=cancel_command)

    worker = sub.add_parser("worker", help="run a device's queued jobs one by one until none is left "
                                           "(started on demand by the app; exits if one already runs)")
    worker.add_argument("--device", required=True, help="the queue's device: cpu, cuda:0, mps")
    worker.add_argument("--json", action="store_true", help="print one JSON object")
    worker.set_defaults(handler=worker_command)


def list_command(args) -> int:
    from study import jobs

    jobs.reconcile()
    rows = jobs.list_jobs(limit=args.limit)
    lines = [f"{j['id']:>5}  {j['status']:<9}  {j['device']:<7}  run {j['run_id'] or '-':<5}  {j['label']}"
             for j in rows] or ["no jobs"]
    emit({"jobs": rows}, args.json, lines)
    return 0


def cancel_command(args) -> int:
    from study import jobs

    status = jobs.request_cancel(args.job_id)
    word = {"running": "cancel requested; the training stops at its next check"}.get(status, status)
    emit({"job_id": args.job_id, "status": status}, args.json, [f"job {args.job_id}: {word}"])
    return 0


def worker_command(args) -> int:
    from study import jobs

    ran = jobs.run_worker(args.device)
    emit({"device": args.device, "jobs_run": ran}, args.json, [f"worker {args.device}: ran {ran} job(s)"])
    return 0
