/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A rep drops a card on a stage whose entry rules it does not meet: the server refuses,
// the message says what is missing and offers "Complete and Move": the "Move to Stage"
// wizard, for the stage the card was dropped on, asks for exactly what is
// missing (the lead's row, the open item ticked in the dialog, which stays open) and moves
// the lead. Run by tests/test_entry_requirements.py.
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
            trigger: ".modal:contains('Expected Revenue') button:contains('Complete and Move')",
            content: "the refusal names what is missing and offers to complete it",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='blocking']:contains('Expected Revenue')",
            content: "the wizard says what is missing",
        },
        {
            trigger: ".modal .o_field_widget[name='item_ids'] button[name='action_done']",
            content: "tick the open item in the dialog",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='item_ids'] .o_data_row:contains('Call the customer') .badge:contains('Done')",
            content: "the dialog stays open and says what is still missing",
        },
        {
            trigger: ".modal .o_field_widget[name='lead_ids'] .o_data_row td[name='expected_revenue']",
            content: "the dialog asks for the expected revenue: edit the lead's row",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='lead_ids'] .o_selected_row div[name='expected_revenue'] input",
            content: "fill it in",
            run: "edit 5000",
        },
        {
            trigger: ".modal footer button[name='action_move']",
            content: "move",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_kanban_group:has(.o_column_title:contains('Tour: Send the offer')) .o_kanban_record:contains('Tour lead')",
            content: "the lead entered the stage: the board shows it there",
        },
    ],
});
