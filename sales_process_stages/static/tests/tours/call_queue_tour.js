/** @odoo-module **/

import { registry } from "@web/core/registry";

// A rep works the call queue: "No Answer" from the row logs the attempt and the lead leaves today's
// queue; on another lead's form, "No Answer" in a planned call's "Mark Done" popover does the same
// from the chatter. Run by tests/test_calls.py.
registry.category("web_tour.tours").add("sales_process_stages_call_queue", {
    steps: () => [
        {
            trigger: ".o_data_row:contains('Tour caller A'):contains('First Contact')",
            content: "the new lead nobody called yet is in the queue",
        },
        {
            trigger: ".o_data_row:contains('Tour caller A') button[name='action_call_no_answer']",
            content: "no answer: log the attempt from the row",
            run: "click",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Tour caller A')))",
            content: "tried today: the lead leaves today's queue",
        },
        {
            trigger: ".o_data_row:contains('Tour caller B') td[name='name']",
            content: "open the next lead from its row",
            run: "click",
        },
        {
            trigger: ".o_form_view .o-mail-Activity:contains('Call the customer back') .o-mail-Activity-markDone",
            content: "mark its planned call done…",
            run: "click",
        },
        {
            trigger: ".o-mail-ActivityMarkAsDone button:contains('No Answer')",
            content: "…as an attempt without an answer",
            run: "click",
        },
        {
            trigger: ".o-mail-Activity:contains('Call again (attempt 3)')",
            content: "the next attempt is planned",
        },
        {
            trigger: ".o-mail-Message:contains('No answer')",
            content: "the attempt is in the chatter",
        },
    ],
});
