from . import crm_lead_lost
from . import crm_lead_stage_move
from . import crm_lead_transfer
from . import crm_pipeline_template_wizard
from . import base_partner_merge
from . import crm_lead_checklist_line_send_back
from . import res_partner_create_opportunities
