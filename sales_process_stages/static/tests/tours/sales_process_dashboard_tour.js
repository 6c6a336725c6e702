/** @odoo-module **/

import { registry } from "@web/core/registry";

// A sales manager's review: CRM > Reporting > Sales Process, the pipeline's card, its overdue
// leads, its funnel. Run by tests/test_dashboard.py.
const CARD = ".o_sps_dashboard .o_kanban_record:contains('Dashboard tour pipeline')";

registry.category("web_tour.tours").add("sales_process_stages_dashboard", {
    url: "/odoo/crm",
    steps: () => [
        {
            trigger: ".o_main_navbar button:contains('Reporting'), .o_main_navbar .dropdown-toggle:contains('Reporting')",
            content: "open the Reporting menu",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Sales Process')",
            content: "open the pipeline dashboard",
            run: "click",
        },
        {
            trigger: `${CARD} .o_sps_dashboard_sla a:contains('Overdue'):contains('1')`,
            content: "the card counts the overdue lead",
        },
        {
            trigger: `${CARD} .o_sps_dashboard_sla a:contains('On Track'):contains('1')`,
            content: "and the one on track",
        },
        {
            trigger: `${CARD} .o_sps_dashboard_sla a:contains('Overdue')`,
            content: "open the overdue leads",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Dashboard tour overdue lead')",
            content: "the overdue lead is listed",
            run() {
                const rows = document.querySelectorAll(".o_list_view .o_data_row");
                if (rows.length !== 1) {
                    throw new Error(`${rows.length} rows listed, the overdue lead only expected`);
                }
            },
        },
        {
            trigger: ".o_breadcrumb a:contains('Sales Process')",
            content: "back to the dashboard",
            run: "click",
        },
        {
            trigger: `${CARD} button:contains('Funnel')`,
            content: "open the pipeline's funnel",
            run: "click",
        },
        {
            trigger: ".o_pivot .o_pivot_header_cell_closed, .o_pivot th:contains('New lead')",
            content: "the funnel lists the pipeline's stages",
        },
        {
            trigger: ".o_pivot th:contains('Days in Stage (Median)')",
            content: "with the days spent in each stage",
        },
    ],
});
