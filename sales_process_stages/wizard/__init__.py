from . import crm_lead_lost
from . import crm_lead_stage_move
from . import crm_lead_transfer
from . import crm_pipeline_template_wizard
from . import base_partner_merge
