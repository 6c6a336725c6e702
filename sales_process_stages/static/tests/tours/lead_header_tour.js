/** @odoo-module **/

import { registry } from "@web/core/registry";

// The lead's header at 1440 px, with two more buttons as sale_crm adds: the status bar shows each stage
// of a long pipeline as its own button, none folded into its "..." menus, and a click on a stage moves
// the lead. Run by tests/test_screens_tour.py (the lead's name says how many stages its pipeline has).
const BAR = ".o_form_view .o_form_statusbar .o_statusbar_status";

registry.category("web_tour.tours").add("sales_process_stages_header_fits", {
    steps: () => [
        {
            trigger: `.o_form_view .o_form_statusbar .o_statusbar_buttons button:contains('New Quotation')`,
            content: "the header holds the other modules' buttons",
        },
        {
            trigger: `${BAR}:has(.o_arrow_button_current)`,
            content: "every stage is a button of its own, in view",
            run() {
                const bar = document.querySelector(BAR);
                const title = document.querySelector(".o_field_widget[name='name'] :is(input, textarea)");
                const expected = Number(title?.value.match(/\((\d+) stages\)/)?.[1]);
                const stages = [...bar.querySelectorAll(".o_arrow_button:not(.dropdown-toggle)")];
                const shown = stages.filter((el) => !el.classList.contains("d-none") && el.offsetParent);
                const menus = [...bar.querySelectorAll(".dropdown-toggle")].filter((el) => el.offsetParent);
                const outside = shown.filter((el) => {
                    const box = el.getBoundingClientRect();
                    return box.left < 0 || box.right > window.innerWidth + 1;
                });
                const header = document.querySelector(".o_form_view .o_form_statusbar");
                const buttons = header.querySelector(".o_statusbar_buttons");
                const report = () => `${shown.length}/${expected} stages shown (${shown.map((el) =>
                    `${el.textContent.trim()} ${el.offsetWidth}px`).join(" | ")}), ${menus.length} "..." menus; ` +
                    `header ${header.offsetWidth}px, its buttons ${buttons.offsetWidth}px, the bar ` +
                    `${bar.offsetWidth}px of ${bar.scrollWidth}px, window ${window.innerWidth}px`;
                if (!expected || shown.length !== expected || stages.length !== expected || menus.length) {
                    throw new Error(`stages folded: ${report()}`);
                }
                if (outside.length) {
                    throw new Error(`stages out of view: ${outside.map((el) => el.textContent.trim()).join(", ")}; ` +
                        report());
                }
            },
        },
        {
            // the bar's buttons are in the page in reverse order (a row-reverse flexbox): the next
            // stage is the button before the current one
            trigger: `${BAR} .o_arrow_button:has(+ .o_arrow_button_current)`,
            content: "move the lead to the next stage",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view .o_form_saved .o_statusbar_status " +
                ".o_arrow_button_current + .o_arrow_button:not(.dropdown-toggle)",
            content: "the lead moved on, saved",
        },
    ],
});
