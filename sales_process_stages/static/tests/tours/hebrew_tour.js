/** @odoo-module **/

import { registry } from "@web/core/registry";

// A Hebrew user: the page is right to left (Odoo's o_rtl class and the stylesheet rtlcss built),
// and a refused stage move reads in Hebrew, its title included. Run by tests/test_i18n.py.
const HEBREW = /[\u0590-\u05FF]/;

registry.category("web_tour.tours").add("sales_process_stages_hebrew", {
    steps: () => [
        {
            trigger: "body.o_rtl .o_form_view",
            content: "the web client reads right to left",
            run() {
                const sheets = [...document.querySelectorAll("link[rel='stylesheet']")].map((link) => link.href);
                if (!sheets.some((href) => href.includes(".rtl."))) {
                    throw new Error(`no right-to-left stylesheet: ${sheets.join(", ")}`);
                }
            },
        },
        {
            trigger: ".o_statusbar_status button[data-value]:contains('Hebrew tour: target')",
            content: "move the lead to a stage it may not enter yet",
            run: "click",
        },
        {
            trigger: ".modal .modal-title",
            content: "the refusal's title is in Hebrew",
            run() {
                const title = document.querySelector(".modal .modal-title").textContent;
                const body = document.querySelector(".modal .modal-body").textContent;
                if (!HEBREW.test(title) || !HEBREW.test(body) || title.includes("Invalid Operation")) {
                    throw new Error(`not in Hebrew: ${title} / ${body}`);
                }
            },
        },
        {
            trigger: ".modal-footer .btn-primary",
            content: "the refusal offers the one-step move, in Hebrew",
            run() {
                const offer = document.querySelector(".modal-footer .btn-primary").textContent;
                if (!HEBREW.test(offer)) {
                    throw new Error(`not in Hebrew: ${offer}`);
                }
            },
        },
        {
            trigger: ".modal-footer .btn-secondary",
            content: "close the message",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal)) .o_form_view",
            content: "back on the lead, the move undone",
            run() {
                document.querySelector(".o_form_button_cancel")?.click();
            },
        },
        {
            trigger: ".o_form_view .o_form_saved, .o_form_view:not(:has(.o_form_button_cancel:visible))",
            content: "nothing left unsaved",
        },
    ],
});
