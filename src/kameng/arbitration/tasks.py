"""Job entry point: the evidence analysis a refund case gets after each committed upload (aftersales
enqueues `analyse_case` by name; this app registers it, so the vault below never imports the assist)."""

from kameng.evidence.uploads import release_memory
from kameng.timers.jobs import job

from . import assist


@job("analyse_case")
def analyse_case(case_id: int) -> None:
    try:
        assist.analyse_case(case_id)
    finally:
        release_memory()  # OCR's pixel and tensor buffers go back to the system, not to a worker's heap
