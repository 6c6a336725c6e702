from . import sales_process_cache_mixin
from . import crm_stage
from . import crm_stage_checklist_item
from . import crm_team
# crm.lead: the stage transition, then each concern extending its two steps, in the order the
# apply step runs them (the history last but for the loss: a new stay records the new SLA)
from . import crm_lead
from . import crm_lead_entry_requirements
from . import crm_lead_checklist
from . import crm_lead_fixed_probability
from . import crm_lead_sla
from . import crm_lead_history
from . import crm_lead_loss
from . import crm_lead_customer_status
from . import crm_lead_checklist_line
from . import mail_activity
from . import crm_lost_reason
from . import crm_lead_stage_history
from . import resource_calendar
from . import resource_calendar_attendance
from . import resource_calendar_leaves
from . import res_partner
from . import res_config_settings
from . import ir_config_parameter
