from . import crm_stage_conversion_report
from . import crm_lead_first_response_report
