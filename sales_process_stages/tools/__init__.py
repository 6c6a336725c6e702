from . import sla_clock
from . import stage_transition
from . import customer_status
from . import read_group
from . import bounds
from . import sweep
from . import process_rules
