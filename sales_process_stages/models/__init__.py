from . import crm_stage
from . import crm_stage_checklist_item
from . import crm_team
from . import crm_lead
from . import crm_lead_checklist_line
from . import mail_activity
from . import crm_lost_reason
from . import crm_lead_stage_history
