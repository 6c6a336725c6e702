/** @odoo-module **/

import { registry } from "@web/core/registry";

// A sales manager moves a lead past the rules with "Force Move" and a reason: the wizard offers it
// (can_force), the lead enters the stage. Run by tests/test_entry_requirements.py.
registry.category("web_tour.tours").add("sales_process_stages_force_move", {
    steps: () => [
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
            trigger: ".modal .o_field_widget[name='force_reason'] textarea",
            content: "a sales manager may give a reason to move past the rules",
            run: "edit Signed at the trade fair, the offer follows",
        },
        {
            trigger: ".modal button[name='action_force']:contains('Force Move')",
            content: "force the move",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_statusbar_status .o_arrow_button_current:contains('Tour: Force target')",
            content: "the lead entered the stage",
        },
    ],
});
