"""lenient verification: what a careful human grader accepts (see :mod:`.engine` for the rules)."""

from justrl.verify.lenient.engine import lenient_verify, quick_verdict

__all__ = ["lenient_verify", "quick_verdict"]
