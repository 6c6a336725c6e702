"""Trust: every rule holds for a salesman over RPC, whatever context the client sends, and the
checklist lines guard their own state on every path (RPC write, import, form)."""

import re
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged

from odoo.addons.mail.models.mail_activity import MailActivity

from .common import JsonRpcMixin, TestSalesProcessCommon

ADDON = Path(__file__).resolve().parent.parent / "sales_process_stages"
CONTEXT_KEY = re.compile(r"""context\.get\(\s*["']([a-z_]+)["']|context\[\s*["']([a-z_]+)["']\s*\]""")
# keys earlier versions honoured (a client may still send them): they must change nothing either
FORMER_KEYS = {"stage_move_restore", "stage_move_force_reason", "sla_internal", "sps_from_checklist_line",
               "stage_move_view_ref"}


def addon_context_keys():
    """Every context key the addon's code reads."""
    keys = set()
    for path in ADDON.rglob("*.py"):
        for match in CONTEXT_KEY.finditer(path.read_text()):
            keys.add(match.group(1) or match.group(2))
    return keys


@tagged("post_install", "-at_install")
class TestSecurityRpc(TestSalesProcessCommon, JsonRpcMixin, HttpCase):

    def _context_value(self, key, lead):
        return {"stage_move_view_ref": self.stage_offer.id, "default_team_id": lead.team_id.id}.get(
            key, "Because I say so")

    def test_addon_reads_the_context_keys_this_test_knows(self):
        keys = addon_context_keys()
        self.assertTrue(keys, "the pattern finds the keys")
        self.assertFalse(keys & FORMER_KEYS, "no internal switch is read from the context")

    def test_no_context_key_lets_a_salesman_past_a_rule(self):
        lead = self._new_leads()  # open mandatory item, no revenue nor customer: refused in Offer
        History = self.env["crm.lead.stage.history"]
        __, refused = self._rpc("crm.lead", "write", [lead.ids, {"stage_id": self.stage_offer.id}])
        self.assertEqual(refused[0], "odoo.exceptions.ValidationError")
        self.assertIn("Call the customer", refused[1])
        self.assertIn("Expected Revenue", refused[1])
        keys = addon_context_keys() | FORMER_KEYS | {"tracking_disable", "mail_activity_quick_update"}
        for key in sorted(keys):
            with self.subTest(key=key):
                context = {key: self._context_value(key, lead)}
                __, error = self._rpc("crm.lead", "write", [lead.ids, {"stage_id": self.stage_offer.id}],
                                      {"context": context})
                self.assertEqual(error, refused, "refused exactly as without the key")
                lead.invalidate_recordset()
                self.assertEqual(lead.stage_id, self.stage_new)
                # nor the "Move to Stage" dialog's button
                wizard = self.env["crm.lead.stage.move"].with_user(self.user_sales_salesman).create(
                    {"lead_id": lead.id, "stage_id": self.stage_offer.id})
                __, error = self._rpc("crm.lead.stage.move", "action_move", [wizard.ids], {"context": context})
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                self.assertEqual(lead.stage_id, self.stage_new)
        # a move that passes: no key skips the history
        self._complete(lead, self.stage_new)
        lead.write({"expected_revenue": 500, "partner_id": self.customer.id})
        stays = History.search_count([("lead_id", "=", lead.id)])
        context = {key: self._context_value(key, lead) for key in keys}
        __, error = self._rpc("crm.lead", "write", [lead.ids, {"stage_id": self.stage_offer.id}], {"context": context})
        self.assertIsNone(error)
        lead.invalidate_recordset()
        self.assertEqual(lead.stage_id, self.stage_offer)
        self.assertEqual(History.search_count([("lead_id", "=", lead.id)]), stays + 1, "the new stay is recorded")
        self.assertEqual(len(lead.checklist_line_ids.filtered(lambda line: line.stage_id == self.stage_offer)), 2)

    def test_no_context_key_lets_a_salesman_lose_without_a_reason(self):
        """The loss rule (a reason where the pipeline requires one) holds with every key the addon
        reads set by the client, as the stage move's does."""
        self.team_process.lost_reason_required = True
        lead = self._new_leads()
        __, refused = self._rpc("crm.lead", "write", [lead.ids, {"active": False}])
        self.assertEqual(refused and refused[0], "odoo.exceptions.ValidationError")
        for key in sorted(addon_context_keys()):
            with self.subTest(key=key):
                __, error = self._rpc("crm.lead", "write", [lead.ids, {"active": False}],
                                      {"context": {key: self._context_value(key, lead)}})
                self.assertEqual(error, refused, "refused exactly as without the key")
                lead.invalidate_recordset()
                self.assertTrue(lead.active)

    def test_force_is_a_managers_right(self):
        lead = self._new_leads()
        __, error = self._rpc("crm.lead", "_force_stage_move", [lead.ids, self.stage_offer.id, "x"])
        self.assertTrue(error, "private methods are not callable over RPC")
        wizard = self.env["crm.lead.stage.move"].with_user(self.user_sales_salesman).create(
            {"lead_id": lead.id, "stage_id": self.stage_offer.id, "force_reason": "Because"})
        __, error = self._rpc("crm.lead.stage.move", "action_force", [wizard.ids])
        self.assertEqual(error[0], "odoo.exceptions.ValidationError")
        lead.invalidate_recordset()
        self.assertEqual(lead.stage_id, self.stage_new)

    def test_what_the_process_computes_is_not_written_by_clients(self):
        lead = self._new_leads()
        for vals in ({"sla_state": "on_track"}, {"sla_escalation_date": False, "sla_escalated_date": "2026-01-01"},
                     {"checklist_mandatory_done": 1, "checklist_progress": 100.0}, {"lost_stage_id": False},
                     {"first_response_date": "2026-01-01 10:00:00", "first_response_within_sla": True},
                     {"first_response_hours": 0.01}):
            with self.subTest(vals=vals):
                __, error = self._rpc("crm.lead", "write", [lead.ids, vals])
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                self.assertIn("computed by the sales process", error[1])
        lead.invalidate_recordset()
        self.assertEqual((lead.checklist_mandatory_done, lead.checklist_progress), (0, 0.0))

    def test_checklist_line_guards_its_state_over_rpc(self):
        """A salesman cannot tick a line past its rule, nor unlink it from its template."""
        lead = self._ready_for_closing()
        contract = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_contract)
        self.assertTrue(contract.needs_attachment and contract.is_mandatory)
        contract.user_id = self.user_sales_salesman  # the salesman's own line
        Line = "crm.lead.checklist.line"
        for vals in ({"state": "done"}, {"is_mandatory": False}, {"needs_attachment": False},
                     {"state": "skipped", "skip_reason": "no time"}, {"lead_id": self._new_leads().id},
                     {"item_id": self.item_call.id}, {"name": "Nothing to do"}, {"activity_id": False},
                     {"done_user_id": self.user_sales_salesman.id}):
            with self.subTest(vals=vals):
                __, error = self._rpc(Line, "write", [contract.ids, vals])
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                contract.invalidate_recordset()
                self.assertEqual((contract.state, contract.is_mandatory, contract.lead_id), ("open", True, lead))
        __, error = self._rpc(Line, "create", [[{"lead_id": lead.id, "stage_id": self.stage_won.id, "name": "x"}]])
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        # nor through an import
        result, error = self._rpc(Line, "load", [[".id", "state"], [[str(contract.id), "done"]]])
        self.assertIsNone(error)
        self.assertFalse(result["ids"])
        self.assertTrue(result["messages"])
        contract.invalidate_recordset()
        self.assertEqual(contract.state, "open")
        # so the lead still cannot leave the stage forward
        __, error = self._rpc("crm.lead", "write", [lead.ids, {"stage_id": self.stage_won.id,
                                                               "date_deadline": str(self._today(5))}])
        self.assertIn("Attach the signed contract", error[1])
        # with the file, the plain write is the rule's way: done, its activity done too
        self.env["ir.attachment"].create({"name": "contract.pdf", "res_model": Line, "res_id": contract.id,
                                          "raw": b"signed"})
        activity = contract.activity_id
        __, error = self._rpc(Line, "write", [contract.ids, {"state": "done"}])
        self.assertIsNone(error)
        contract.invalidate_recordset()
        self.assertEqual((contract.state, contract.done_user_id), ("done", self.user_sales_salesman))
        self.assertFalse(activity.exists(), "the activity is marked done with its line")

    def test_assignee_without_crm_rights_changes_only_their_work(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.stage_id = self.stage_offer
        line = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_feasibility)
        other = self._new_leads()
        Line = "crm.lead.checklist.line"
        for vals in ({"lead_id": other.id}, {"user_id": self.user_analyst.id}, {"is_mandatory": False},
                     {"date_deadline": str(self._today(30))}, {"stage_id": self.stage_new.id}):
            with self.subTest(vals=vals):
                __, error = self._rpc(Line, "write", [line.ids, vals], login="user_engineer")
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                line.invalidate_recordset()
                self.assertEqual((line.lead_id, line.user_id, line.is_mandatory), (lead, self.user_engineer, True))
        __, error = self._rpc(Line, "write", [line.ids, {"note": "Roof fits", "state": "done"}], login="user_engineer")
        self.assertIsNone(error)
        line.invalidate_recordset()
        self.assertEqual((line.state, line.note, line.done_user_id), ("done", "Roof fits", self.user_engineer))
        # the lead's salesperson may reassign an item: its activity follows
        price = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_price)
        __, error = self._rpc(Line, "write", [price.ids, {"user_id": self.user_engineer.id}])
        self.assertIsNone(error)
        price.invalidate_recordset()
        self.assertEqual((price.user_id, price.activity_id.user_id), (self.user_engineer, self.user_engineer))

    def test_assignee_without_crm_rights_reads_none_of_the_later_discussion(self):
        """The engineer follows the lead for their item only: the lead's later internal notes, its
        messages and its tracking are not theirs to read (README, "Who may reassign an item")."""
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.stage_id = self.stage_offer
        self.assertEqual(lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_feasibility).user_id,
                         self.user_engineer)
        self.assertIn(self.user_engineer.partner_id, lead.message_partner_ids, "a follower, for the item only")
        salesman_lead = lead.with_user(self.user_sales_salesman)
        salesman_lead.message_post(body="Our floor price is 17,500 EUR", subtype_xmlid="mail.mt_note")
        salesman_lead.message_post(body="Colleagues: the floor price stays", message_type="comment",
                                   subtype_xmlid="mail.mt_comment")
        salesman_lead.message_post(body="Internal: the floor price is firm", message_type="comment",
                                   subtype_xmlid="mail.mt_comment", is_internal=True)
        salesman_lead.write({"priority": "3", "expected_revenue": 17500})
        self.env.flush_all()
        domain = [("model", "=", "crm.lead"), ("res_id", "=", lead.id)]
        seen, error = self._rpc("mail.message", "search_read", [domain, ["body", "message_type"]],
                                login="user_engineer")
        self.assertIsNone(error)
        self.assertFalse([message for message in seen if "floor price" in message["body"]], seen)
        self.assertFalse([message for message in seen if message["message_type"] == "notification"],
                         "no tracking of the lead either")
        # nor by id
        notes = self.env["mail.message"].search([*domain, ("body", "ilike", "floor price")])
        self.assertEqual(len(notes), 3)
        __, error = self._rpc("mail.message", "read", [notes.ids, ["body"]], login="user_engineer")
        self.assertEqual(error and error[0], "odoo.exceptions.AccessError")
        # what the item needs stays theirs: the assignment, and their own activity done on it
        self.assertTrue([message for message in seen if "Technical feasibility" in message["body"]], seen)
        activity = self.env["mail.activity"].search([("user_id", "=", self.user_engineer.id), ("res_id", "=", lead.id)])
        __, error = self._rpc("mail.activity", "action_feedback", [activity.ids], {"feedback": "Roof fits"},
                              login="user_engineer")
        self.assertIsNone(error)
        seen, __ = self._rpc("mail.message", "search_read", [domain, ["body"]], login="user_engineer")
        self.assertTrue([message for message in seen if "Roof fits" in message["body"]])
        # reassigned an item later (the activity's own subscription): the same
        price = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_price)
        __, error = self._rpc("crm.lead.checklist.line", "write", [price.ids, {"user_id": self.user_analyst.id}])
        self.assertIsNone(error)
        other = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(other, self.stage_new)
        other.stage_id = self.stage_offer
        other_price = other.checklist_line_ids.filtered(lambda line: line.item_id == self.item_price)
        __, error = self._rpc("crm.lead.checklist.line", "write", [other_price.ids, {"user_id": self.user_engineer.id}])
        self.assertIsNone(error)
        other.with_user(self.user_sales_salesman).message_post(body="Margin talk", message_type="comment",
                                                               subtype_xmlid="mail.mt_comment")
        seen, __ = self._rpc("mail.message", "search_read",
                             [[("model", "=", "crm.lead"), ("res_id", "=", other.id)], ["body"]], login="user_engineer")
        self.assertFalse([message for message in seen if "Margin talk" in message["body"]], seen)

    def test_a_file_counts_only_where_attached_readable_and_of_this_stay(self):
        """The issue's sequence: mail.activity.action_feedback(attachment_ids=[another salesman's
        file]) on the item needing the signed contract."""
        lead = self._ready_for_closing()
        contract = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_contract)
        activity = contract.activity_id
        Attachment = self.env["ir.attachment"]
        private = Attachment.with_user(self.user_sales_leads).create({"name": "rival_contract.pdf", "raw": b"%PDF"})
        rival_lead = self._new_leads(user=self.user_sales_leads)
        on_rival_lead = Attachment.create({"name": "rival_offer.pdf", "raw": b"%PDF", "res_model": "crm.lead",
                                           "res_id": rival_lead.id})
        for attachment in (private, on_rival_lead):
            with self.subTest(attachment=attachment.name):
                __, error = self._rpc("mail.activity", "action_feedback", [activity.ids],
                                      {"feedback": "Signed", "attachment_ids": attachment.ids})
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                self.assertIn("files you may read", error[1])
        # his own file, attached elsewhere (another of his leads, or nowhere), does not count either
        own_lead = self._new_leads()
        for values in ({"res_model": "crm.lead", "res_id": own_lead.id}, {}):
            own = Attachment.with_user(self.user_sales_salesman).create({"name": "other.pdf", "raw": b"%PDF",
                                                                         **values})
            __, error = self._rpc("mail.activity", "action_feedback", [activity.ids],
                                  {"feedback": "Signed", "attachment_ids": own.ids})
            self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
            self.assertIn("Attach a file", error[1])
        contract.invalidate_recordset()
        self.assertEqual(contract.state, "open")
        self.assertTrue(activity.exists())
        names = lead.message_ids.attachment_ids.mapped("name")
        self.assertFalse({"rival_contract.pdf", "rival_offer.pdf"} & set(names), "his chatter shows no foreign file")
        # the signed contract attached to the lead now: it counts
        signed = Attachment.with_user(self.user_sales_salesman).create(
            {"name": "signed.pdf", "raw": b"%PDF", "res_model": "crm.lead", "res_id": lead.id})
        __, error = self._rpc("mail.activity", "action_feedback", [activity.ids],
                              {"feedback": "Signed", "attachment_ids": signed.ids})
        self.assertIsNone(error)
        contract.invalidate_recordset()
        self.assertEqual(contract.state, "done")

    def test_a_file_the_assignee_cannot_read_does_not_count_for_them(self):
        self.item_feasibility.needs_attachment = True
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.stage_id = self.stage_offer
        line = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_feasibility)
        # the salesman's file on the lead: the engineer may not read the lead, nor its files
        self.env["ir.attachment"].with_user(self.user_sales_salesman).create(
            {"name": "roof.pdf", "raw": b"%PDF", "res_model": "crm.lead", "res_id": lead.id})
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [line.ids], login="user_engineer")
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        self.assertIn("Attach a file", error[1])
        # the engineer's own file on the item counts
        self.env["ir.attachment"].with_user(self.user_engineer).create(
            {"name": "feasibility.pdf", "raw": b"%PDF", "res_model": line._name, "res_id": line.id})
        __, error = self._rpc("crm.lead.checklist.line", "action_done", [line.ids], login="user_engineer")
        self.assertIsNone(error)

    def test_a_file_of_an_earlier_stay_does_not_count(self):
        lead = self._ready_for_closing()
        contract = lead.checklist_line_ids.filtered(lambda line: line.item_id == self.item_contract)
        self.env["ir.attachment"].create({"name": "draft.pdf", "raw": b"%PDF", "res_model": contract._name,
                                          "res_id": contract.id})
        lead.stage_id = self.stage_offer
        self._plan_activity(lead)
        with self.mock_datetime_and_now(fields.Datetime.now() + timedelta(hours=1)):
            lead.stage_id = self.stage_closing
            __, error = self._rpc("crm.lead.checklist.line", "action_done", [contract.ids])
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        self.assertIn("Attach a file", error[1])

    def _ready_for_closing(self):
        lead = self._new_leads(expected_revenue=10, partner_id=self.customer.id)
        self._complete(lead, self.stage_new)
        lead.stage_id = self.stage_offer
        self._complete(lead, self.stage_offer)
        self._plan_activity(lead)
        lead.stage_id = self.stage_closing
        return lead


@tagged("post_install", "-at_install")
class TestActivitiesThroughOdoo(TestSalesProcessCommon):

    def test_other_modules_see_every_checklist_activity(self):
        """Checklist activities go through mail.activity.create, in batch: an override of it
        (another module's, an automation rule on activities) sees each one."""
        seen = []
        create = MailActivity.create

        def spy(self, vals_list):
            activities = create(self, vals_list)
            seen.extend(activities.ids)
            return activities

        with patch.object(MailActivity, "create", spy):
            leads = self._new_leads(20, expected_revenue=10, partner_id=self.customer.id)
            self._complete(leads, self.stage_new)
            leads.write({"stage_id": self.stage_offer.id})
        lines = leads.checklist_line_ids.filtered("activity_id")
        self.assertEqual(len(lines), 20 * 3)
        self.assertEqual(set(lines.activity_id.ids) - set(seen), set())
        activity = lines.activity_id[:1]
        # Odoo's own stored fields, from the ORM
        self.assertEqual(activity.res_name, self.env["crm.lead"].browse(activity.res_id).display_name)
        self.assertEqual(activity.user_tz, activity.user_id.tz)


@tagged("post_install", "-at_install")
class TestChecklistLinePaths(TestSalesProcessCommon):
    """The line's rules hold through a server action and a mass edit too (the ORM's own paths)."""

    def _lines(self, leads, item):
        return leads.checklist_line_ids.filtered(lambda line: line.item_id == item)

    def test_server_action_and_mass_edit(self):
        leads = self._new_leads(3, expected_revenue=10, partner_id=self.customer.id)
        self._complete(leads, self.stage_new)
        leads.write({"stage_id": self.stage_offer.id})
        self._complete(leads, self.stage_offer)
        self._plan_activity(leads)
        leads.write({"stage_id": self.stage_closing.id})
        contracts = self._lines(leads, self.item_contract)
        contracts.user_id = self.user_sales_salesman
        action = self.env["ir.actions.server"].create({
            "name": "Tick the contracts", "model_id": self.env["ir.model"]._get_id("crm.lead.checklist.line"),
            "state": "object_write", "update_path": "state", "evaluation_type": "value", "value": "done",
        })
        with self.assertRaises(UserError) as error:
            action.with_user(self.user_sales_salesman).with_context(
                active_model="crm.lead.checklist.line", active_ids=contracts.ids).run()
        self.assertIn("Attach a file", str(error.exception))
        self.assertEqual(set(contracts.mapped("state")), {"open"})
        # a mass edit of the mandatory flag, as a salesman: refused for the batch, nothing written
        with self.assertRaises(UserError):
            contracts.with_user(self.user_sales_salesman).write({"is_mandatory": False})
        self.assertEqual(set(contracts.mapped("is_mandatory")), {True})
        # as an assignee without CRM rights: their own lines only, and only their work
        engineer = self.env(user=self.user_engineer)
        others = self._lines(leads, self.item_price)
        with self.assertRaises(AccessError):
            engineer["crm.lead.checklist.line"].browse(others.ids).write({"state": "done"})
        self.assertEqual(set(others.mapped("state")), {"done"}, "ticked by _complete, untouched")
