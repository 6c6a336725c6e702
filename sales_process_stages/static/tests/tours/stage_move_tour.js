/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A rep drops a card on a stage whose entry rules it does not meet: the server refuses,
// the message says how to fix it; the "Move to Stage" wizard asks for exactly what is
// missing and moves the lead. Run by tests/test_entry_requirements.py.
const QUALIFY = ".o_kanban_group:has(.o_column_title:contains('Tour: Qualify'))";

registry.category("web_tour.tours").add("sales_process_stages_stage_move", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            trigger: ".o_app[data-menu-xmlid='crm.crm_menu_root']",
            content: "open the CRM app",
            run: "click",
        },
        {
            trigger: `${QUALIFY} .o_kanban_record:contains('Tour lead')`,
            content: "drop the card on a stage it may not enter yet",
            // the test puts "Tour: Send the offer" second, right after "Tour: Qualify";
            // let the board settle first (the card re-renders once its widgets load)
            async run(helpers) {
                await new Promise((resolve) => setTimeout(resolve, 1000));
                await helpers.drag_and_drop(".o_opportunity_kanban .o_kanban_group:eq(1)");
            },
        },
        {
            trigger: ".o_error_dialog:contains('Expected Revenue'):contains('Move to Stage')",
            content: "the refusal names what is missing and how to fix it",
        },
        {
            trigger: ".modal-footer .o-default-button",
            content: "close the message",
            run: "click",
        },
        {
            trigger: `${QUALIFY} .o_kanban_record:contains('Tour lead')`,
            content: "the card stayed where it was: open it",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_cp_action_menus .dropdown-toggle",
            content: "the form's gear menu holds the secondary actions",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .dropdown-item:contains('Move to Stage')",
            content: "use Move to Stage",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='blocking']:contains('Expected Revenue')",
            content: "the wizard says what is missing",
        },
        {
            trigger: ".modal button[name='action_move']:contains('Complete and Move')",
            content: "complete and move",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='expected_revenue'] input",
            content: "the dialog asks for the expected revenue",
            run: "edit 5000",
        },
        {
            trigger: ".modal button[name='action_stage_move_confirm']",
            content: "move",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_statusbar_status .o_arrow_button_current:contains('Tour: Send the offer')",
            content: "the lead entered the stage",
        },
    ],
});
