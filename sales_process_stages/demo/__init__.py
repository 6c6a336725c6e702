"""The demo data's own code: ``pipeline_demo`` walks the demo leads through their pipelines
(called by ``demo/crm_pipeline_demo.xml`` through ``crm.lead._demo_play_pipeline``)."""
from . import pipeline_demo
