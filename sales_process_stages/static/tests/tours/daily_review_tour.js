/** @odoo-module **/

import { registry } from "@web/core/registry";

// The morning stand-up: Daily Review lists the deals overdue or due today of the manager's teams
// (both default filters hold: they are in groups of their own), and its checklist items likewise.
// Run by tests/test_sla_ui.py.
registry.category("web_tour.tours").add("sales_process_stages_daily_review", {
    steps: () => [
        {
            trigger: ".o_facet_value:contains('Overdue or Due Today')",
            content: "the review opens with its default filters",
        },
        {
            trigger: ".o_group_header:contains('Review Rep')",
            content: "open the salesperson's group",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Review: overdue deal')",
            content: "the overdue deal is listed",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Review: no SLA'))):not(:has(.o_data_row:contains('Review: won deal')))",
            content: "a deal without SLA, or won, is not",
        },
        {
            trigger: ".o_main_navbar button:contains('Sales')",
            content: "the Sales menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='sales_process_stages.crm_lead_checklist_line_menu_daily_review']",
            content: "the review's checklist items",
            run: "click",
        },
        {
            trigger: ".o_facet_value:contains('Overdue or Due Today')",
            content: "with their default filters",
        },
        {
            trigger: ".o_group_header:contains('Review Rep')",
            content: "open the responsible's group",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains('Review: overdue item')",
            content: "the overdue item is listed",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Review: later item')))",
            content: "an item due later is not",
        },
    ],
});
