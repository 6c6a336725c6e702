/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Opens the CRM app from the home menu and checks that the pipeline kanban
// shows its stage columns. Run by tests/test_tour.py.
registry.category("web_tour.tours").add("sales_process_stages_pipeline", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']",
            content: "open the CRM app",
            run: "click",
        },
        {
            trigger: ".o_opportunity_kanban .o_kanban_group .o_column_title",
            content: "the pipeline shows a stage column",
        },
        {
            trigger: ".o_opportunity_kanban .o_kanban_group .o_kanban_record",
            content: "with an opportunity card in it",
        },
    ],
});
