/** @odoo-module **/

import { registry } from "@web/core/registry";

// A Polish salesperson's checklist at 1440 px: the column headers and the state badges read in full,
// none cut short with an ellipsis ("Obowią…", "Wykona…"). Run by tests/test_screens_tour.py.
const LIST = ".o_form_view .o_field_widget[name='checklist_line_ids'] .o_list_renderer";
// pl.po's words for the headers and the states of the lines the test makes
const HEADERS = ["Etap", "Punkt", "Obowiązkowy", "Odpowiedzialny", "Termin", "Status", "Czeka na"];
const STATES = ["Wykonano", "Pominięto", "Do zrobienia", "Oczekujący"];
// two item names of the lead's lines, as pl.po translates them
const ITEMS = ["Uzgodnij cenę, zakres i warunki", "Przygotuj umowę"];

function describe(el) {
    const name = [el.tagName.toLowerCase(), ...el.classList].join(".");
    return `${name} "${el.textContent.trim()}" (${el.scrollWidth}px of text in ${el.clientWidth}px)`;
}

// Whether the element's text is wider than its box (an ellipsis shows). scrollWidth and clientWidth
// are rounded to whole pixels: when they differ, the text is measured to the fraction (a text wider
// by half a pixel shows an ellipsis too).
function isCutShort(el) {
    const text = el.textContent.trim();
    if (!text || el.scrollWidth <= el.clientWidth) {
        return false;
    }
    const style = getComputedStyle(el);
    const context = document.createElement("canvas").getContext("2d");
    context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const box = el.getBoundingClientRect().width - ["paddingLeft", "paddingRight", "borderLeftWidth",
        "borderRightWidth"].reduce((total, side) => total + parseFloat(style[side]), 0);
    return context.measureText(text).width > box;
}

registry.category("web_tour.tours").add("sales_process_stages_polish_checklist", {
    steps: () => [
        {
            trigger: ".o_form_view .o_notebook .nav-link[name='checklist']",
            content: "open the checklist",
            run: "click",
        },
        {
            trigger: `${LIST} tbody tr.o_data_row:nth-child(5)`,
            content: "every header and every state reads in full",
            run() {
                const table = document.querySelector(`${LIST} table`);
                const headers = [...table.querySelectorAll("thead th")];
                const badges = [...table.querySelectorAll("tbody .o_data_cell .badge")];
                const headerText = headers.map((th) => th.textContent.trim());
                const badgeText = badges.map((badge) => badge.textContent.trim());
                const itemText = [...table.querySelectorAll("tbody .o_data_cell[name='name']")].map(
                    (cell) => cell.textContent.trim());
                const missing = [
                    ...HEADERS.filter((word) => !headerText.includes(word)),
                    ...STATES.filter((word) => !badgeText.includes(word)),
                    ...ITEMS.filter((name) => !itemText.includes(name)),
                ];
                if (missing.length) {
                    throw new Error(`not in Polish: ${missing.join(", ")} (headers: ${headerText.join(" | ")}; ` +
                        `states: ${badgeText.join(" | ")}; items: ${itemText.join(" | ")})`);
                }
                // an ellipsis shows where a text is wider than its box: the header cells and what they
                // hold, the badges
                const boxes = [...headers, ...table.querySelectorAll("thead th *"), ...badges];
                const cut = boxes.filter(isCutShort);
                if (cut.length) {
                    const widths = headers.map((th) => `${th.textContent.trim() || "-"}: ${th.offsetWidth}px`);
                    throw new Error(`cut short: ${cut.map(describe).join("; ")} (table ${table.offsetWidth}px, ` +
                        `window ${window.innerWidth}px; columns ${widths.join(", ")})`);
                }
            },
        },
    ],
});
