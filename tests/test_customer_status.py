"""Customer status of contacts: prospect, new, regular, lapsed customer, from the won opportunities
of the contact's company (its own and all its contacts'); thresholds from the CRM settings (bad
ones refused); updated at once when an opportunity is won, reopened, lost, deleted or changes
customer, and by the daily sweep when time moves on (only the contacts whose status changes are
written, in a number of queries that does not grow with them); readonly for users; shown and
filtered on leads and contacts.

Time is moved with ``mock_datetime_and_now`` (``cr.now()`` included). The dates are before the
test database was installed: its demo opportunities, won at install, stay recent whatever the
date the tests pretend it is, and keep their status.
"""

import logging
from datetime import datetime

from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.safe_eval import safe_eval

from odoo.addons.sales_process_stages.tools.customer_status import REGULAR_COUNT_PARAM, REGULAR_MONTHS_PARAM

from .common import JsonRpcMixin, SalesProcessCommon

_logger = logging.getLogger(__name__)

T0 = datetime(2025, 1, 15, 10, 0)


def months(count, days=0):
    return T0 + relativedelta(months=count, days=days)


class CustomerStatusCommon(SalesProcessCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.company = Partner.create({"name": "Acme Roofing", "is_company": True})
        cls.alice, cls.bob = Partner.create([
            {"name": "Alice Acme", "parent_id": cls.company.id},
            {"name": "Bob Acme", "parent_id": cls.company.id},
        ])
        cls.other_company = Partner.create({"name": "Bright Windows", "is_company": True})
        cls.paula = Partner.create({"name": "Paula Private"})

    def _win(self, partner, when=T0, count=1):
        """``count`` opportunities of ``partner`` won at ``when``."""
        with self.mock_datetime_and_now(when):
            leads = self.env["crm.lead"].create([{
                "name": f"Deal {index} of {partner.name}", "type": "opportunity", "team_id": self.team_plain.id,
                "stage_id": self.stage_plain_new.id, "user_id": self.user_sales_salesman.id,
                "partner_id": partner.id, "expected_revenue": 1000,
            } for index in range(count)])
            leads.action_set_won()
            self.env.flush_all()
        return leads

    def _sweep(self, when, **kwargs):
        with self.mock_datetime_and_now(when):
            return self.env["res.partner"]._cron_update_customer_status(**kwargs)

    def _statuses(self, *partners):
        for partner in partners:
            partner.invalidate_recordset(["customer_status"])
        return [partner.customer_status for partner in partners]


    def _updated_partner_rows(self):
        """Rows of res_partner this transaction updated so far (PostgreSQL's statistics)."""
        self.env.cr.execute("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'res_partner'")
        row = self.env.cr.fetchone()
        return row[0] if row else 0


@tagged("post_install", "-at_install", "customer_status")
class TestCustomerStatus(CustomerStatusCommon):

    def test_each_status(self):
        """Prospect: nothing won (open or lost opportunities do not count); new: won in the last
        12 months, fewer than 3 times; regular: 3 times; lapsed: won before, nothing in them."""
        self._create_opportunity(partner_id=self.paula.id)  # open
        lost = self._create_opportunity(partner_id=self.paula.id)
        lost.action_set_lost()
        self.assertEqual(self._statuses(self.paula), ["prospect"])
        new = self.env["res.partner"].create({"name": "Nina New"})
        regular = self.env["res.partner"].create({"name": "Rita Regular"})
        lapsed = self.env["res.partner"].create({"name": "Lars Lapsed"})
        self.assertEqual(self._statuses(new, regular, lapsed), ["prospect"] * 3)
        self._win(new, months(13), count=2)
        self._win(regular, months(11))
        self._win(regular, months(13), count=2)
        self._win(lapsed, T0)
        self.assertEqual(self._statuses(new, regular, lapsed), ["new", "regular", "new"], "at once when won")
        self.assertEqual((new | regular | lapsed).mapped("customer_status_until"), [months(25), months(23), months(12)])
        self._sweep(months(13, days=1))
        self.assertEqual(self._statuses(self.paula, new, regular, lapsed), ["prospect", "new", "regular", "lapsed"])
        self.assertFalse(self.paula.customer_status_until or lapsed.customer_status_until)
        self.assertEqual(
            new.fields_get(["customer_status"])["customer_status"]["selection"],
            [("prospect", "Prospect"), ("new", "New Customer"), ("regular", "Regular Customer"),
             ("lapsed", "Lapsed Customer")])

    def test_company_covers_its_contacts(self):
        """A company's status counts its contacts' won opportunities; every contact of a company
        has the company's status (a colleague's purchase makes a returning customer)."""
        with self.mock_datetime_and_now(T0):
            self._check_company_covers_its_contacts()

    def _check_company_covers_its_contacts(self):
        self._win(self.alice)
        self.assertEqual(self._statuses(self.company, self.alice, self.bob, self.paula),
                         ["new", "new", "new", "prospect"])
        self._win(self.bob, count=2)
        self.assertEqual(self._statuses(self.company, self.alice, self.bob), ["regular"] * 3)
        # a new contact of the company shares its status at once
        carl = self.env["res.partner"].create({"name": "Carl Acme", "parent_id": self.company.id})
        self.assertEqual(carl.customer_status, "regular")
        # Alice moves to another company with her won opportunity: both companies' statuses follow
        self.alice.parent_id = self.other_company
        self.assertEqual(self._statuses(self.company, self.bob, carl, self.other_company, self.alice),
                         ["new", "new", "new", "new", "new"])
        self.assertEqual(self._statuses(self.company), ["new"])
        # Bob leaves the company for himself: it keeps nothing won
        self.bob.parent_id = False
        self.assertEqual(self._statuses(self.company, carl, self.bob), ["prospect", "prospect", "new"])

    def test_updated_at_once(self):
        """Won, reopened, lost, restored, moved to another customer, redated, deleted; a stage
        that stops being a won stage: the customers' statuses follow in the same transaction."""
        with self.mock_datetime_and_now(months(1)):
            self._check_updated_at_once()

    def _check_updated_at_once(self):
        lead = self._win(self.paula)
        self.assertEqual(self._statuses(self.paula), ["new"])
        lead.stage_id = self.stage_plain_proposition  # reopened
        self.assertEqual(self._statuses(self.paula), ["prospect"])
        lead.action_set_won()
        self.assertEqual(self._statuses(self.paula), ["new"])
        lead.action_set_lost()
        self.assertEqual(self._statuses(self.paula), ["prospect"])
        lead.action_unarchive()  # back in the won stage it was lost in
        self.assertTrue(lead.stage_id.is_won)
        self.assertEqual(self._statuses(self.paula), ["new"])
        lead.partner_id = self.alice
        self.assertEqual(self._statuses(self.paula, self.alice, self.company), ["prospect", "new", "new"])
        lead.date_closed = months(-13)
        self.assertEqual(self._statuses(self.alice), ["lapsed"])
        lead.date_closed = T0
        self.assertEqual(self._statuses(self.alice), ["new"])
        lead.stage_id.is_won = False
        self.assertEqual(self._statuses(self.alice), ["prospect"])
        lead.stage_id.is_won = True
        self.assertEqual(self._statuses(self.alice), ["new"])
        lead.unlink()
        self.assertEqual(self._statuses(self.alice, self.company), ["prospect", "prospect"])

    def test_merged_contacts(self):
        """Odoo's merge moves the opportunities of the merged contacts (in SQL): the contact kept
        gets their status."""
        duplicate = self.env["res.partner"].create({"name": "Paula P."})
        with self.mock_datetime_and_now(months(1)):
            self._win(duplicate, months(1))
            self.assertEqual(self._statuses(self.paula, duplicate), ["prospect", "new"])
            self.env["base.partner.merge.automatic.wizard"]._merge(
                [self.paula.id, duplicate.id], self.paula, extra_checks=False)
        self.assertFalse(duplicate.exists())
        self.assertEqual(self._statuses(self.paula), ["new"])

    def test_salesman_wins_and_sees_it(self):
        """The salesman's own moves update the status (the statement runs whatever the user's rights)."""
        lead = self._create_opportunity(partner_id=self.paula.id).with_user(self.user_sales_salesman)
        lead.action_set_won()
        self.assertEqual(lead.partner_customer_status, "new")
        self.assertEqual(self._statuses(self.paula), ["new"])

    # ------------------------------------------------------------
    # the sweep: the passing of time
    # ------------------------------------------------------------

    def test_sweep_follows_time(self):
        """Regular → new when a won deal leaves the last 12 months, new → lapsed when the last one
        does, regular → lapsed at once when all do; new → regular when the settings lower the
        threshold; a status written around the process is put right."""
        self._win(self.alice, T0)
        self._win(self.alice, months(1))
        self._win(self.alice, months(2))
        self._win(self.paula, T0, count=3)
        self.assertEqual(self._statuses(self.alice, self.paula), ["regular", "regular"])
        self._sweep(months(12, days=-1))
        self.assertEqual(self._statuses(self.alice, self.paula), ["regular", "regular"])
        self._sweep(months(12, days=1))
        self.assertEqual(self._statuses(self.alice, self.company, self.paula), ["new", "new", "lapsed"])
        self._sweep(months(14, days=1))
        self.assertEqual(self._statuses(self.alice, self.company), ["lapsed", "lapsed"])
        # new → regular: two won deals, the threshold lowered to 2 (every contact, by the next sweep)
        self._win(self.bob, months(14, days=2), count=2)
        self.assertEqual(self._statuses(self.bob, self.company), ["new", "new"])
        self.env["ir.config_parameter"].set_param(REGULAR_COUNT_PARAM, "2")
        self._sweep(months(14, days=3))
        self.assertEqual(self._statuses(self.bob, self.company, self.alice), ["regular"] * 3)
        self.assertEqual(self.bob.customer_status_until, months(26, days=2), "until the second last deal ends")
        self._sweep(months(26, days=2))
        self.assertEqual(self._statuses(self.bob, self.company, self.alice), ["lapsed"] * 3)
        self.assertFalse(self.bob.customer_status_until)
        # a status written around the process (SQL) is put right by the statement the settings run
        self.env.cr.execute(SQL("UPDATE res_partner SET customer_status = 'prospect' WHERE id = %s", self.bob.id))
        self.assertEqual(self._statuses(self.bob), ["prospect"])
        with self.mock_datetime_and_now(months(26, days=3)):
            self.env["res.partner"]._customer_status_update()
        self.assertEqual(self._statuses(self.bob), ["lapsed"])

    def test_sweep_writes_only_the_contacts_that_change(self):
        self._win(self.alice, T0)
        self._win(self.paula, months(6))
        unchanged = self.paula.write_date
        self._sweep(months(1))  # whatever the database held before: now up to date
        before = self._updated_partner_rows()
        self.assertEqual(self._sweep(months(1)), 0, "nothing changed: nothing written")
        self.assertEqual(self._updated_partner_rows(), before)
        # Acme's deal lapses: its three contacts change, Paula does not (nor is she read: by the index
        # of the dates)
        self.assertEqual(self._sweep(months(13)), 3)
        self.assertEqual(self._updated_partner_rows() - before, 3, "3 rows updated, no other")
        self.assertEqual(self._statuses(self.company, self.alice, self.bob, self.paula),
                         ["lapsed", "lapsed", "lapsed", "new"])
        self.paula.invalidate_recordset(["write_date"])
        self.assertEqual(self.paula.write_date, unchanged)

    def test_sweep_in_batches(self):
        """Batches of ``batch_size`` contacts until none is left; a batch of 0 does nothing."""
        partners = self.env["res.partner"].create([{"name": f"Batch {index}"} for index in range(5)])
        for partner in partners:
            self._win(partner, T0)
        self._sweep(T0)
        self.assertEqual(self._sweep(months(13), batch_size=0), 0)
        self.assertEqual(set(self._statuses(*partners)), {"new"})
        self.assertEqual(self._sweep(months(13), batch_size=2), 5)
        self.assertEqual(set(self._statuses(*partners)), {"lapsed"})
        # after the settings change: every contact, by batches too
        self.env["ir.config_parameter"].set_param(REGULAR_MONTHS_PARAM, "24")
        self.assertGreaterEqual(self._sweep(months(13), batch_size=2), 5)
        self.assertEqual(set(self._statuses(*partners)), {"new"})
        self.assertEqual(set(partners.mapped("customer_status_until")), {months(24)})
        cron = self.env.ref("sales_process_stages.ir_cron_res_partner_customer_status")
        self.assertEqual((cron.model_id.model, cron.interval_number, cron.interval_type),
                         ("res.partner", 1, "days"))
        self.assertIn("model._cron_update_customer_status(batch_size=", cron.code)

    # ------------------------------------------------------------
    # the settings
    # ------------------------------------------------------------

    def _settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def test_thresholds_from_settings(self):
        settings = self._settings()
        self.assertEqual((settings.customer_regular_count, settings.customer_regular_months), (3, 12))
        self._win(self.paula, T0, count=2)
        self._win(self.alice, months(-7))
        self.assertEqual(self._statuses(self.paula, self.alice), ["new", "new"])
        self._sweep(T0)
        cron = self.env.ref("sales_process_stages.ir_cron_res_partner_customer_status")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        self._settings(customer_regular_count=2, customer_regular_months=6).execute()
        Param = self.env["ir.config_parameter"]
        self.assertEqual((Param.get_param(REGULAR_COUNT_PARAM), Param.get_param(REGULAR_MONTHS_PARAM)), ("2", "6"))
        self.assertGreater(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers,
                           "the sweep runs at once, in the background")
        # every contact, also those whose status was not due to end
        self._sweep(T0)
        self.assertEqual(self._statuses(self.paula, self.alice), ["regular", "lapsed"])
        self.assertEqual(self.paula.customer_status_until, months(6))
        self.assertEqual(self._sweep(T0), 0, "once")
        settings = self._settings()
        self.assertEqual((settings.customer_regular_count, settings.customer_regular_months), (2, 6))
        # unset (an empty parameter): the defaults again
        Param.set_param(REGULAR_COUNT_PARAM, False)
        self._sweep(T0)
        self.assertEqual(self._statuses(self.paula), ["new"])

    def test_bad_thresholds_refused(self):
        Param = self.env["ir.config_parameter"]
        for values in ({"customer_regular_count": 0}, {"customer_regular_count": -2},
                       {"customer_regular_months": 0}, {"customer_regular_months": -1},
                       {"customer_regular_months": 1201}):
            with self.subTest(values=values), self.assertRaises(ValidationError) as refused:
                self._settings(**values).execute()
            self.assertIn("must be a whole number", str(refused.exception))
        self.assertFalse(Param.get_param(REGULAR_COUNT_PARAM))
        self.assertFalse(Param.get_param(REGULAR_MONTHS_PARAM))
        for key in (REGULAR_COUNT_PARAM, REGULAR_MONTHS_PARAM):
            for value in ("0", "-3", "two", "1.5"):
                with self.subTest(key=key, value=value), self.assertRaises(ValidationError) as refused:
                    Param.set_param(key, value)
                self.assertIn(f"not “{value}”", str(refused.exception))
        # an administrator writing the parameter directly (technical menu, RPC)
        with self.assertRaises(ValidationError):
            Param.create({"key": REGULAR_MONTHS_PARAM, "value": "0"})
        Param.set_param(REGULAR_MONTHS_PARAM, "6")
        with self.assertRaises(ValidationError):
            Param.search([("key", "=", REGULAR_MONTHS_PARAM)]).write({"value": "0"})
        self.assertEqual(Param.get_param(REGULAR_MONTHS_PARAM), "6")

    def test_thresholds_written_around_the_checks_count_as_defaults(self):
        """A value written in SQL past the checks is read defensively: the default is used."""
        self.env.cr.execute(SQL(
            "INSERT INTO ir_config_parameter (key, value) VALUES (%s, '0'), (%s, 'many')",
            REGULAR_MONTHS_PARAM, REGULAR_COUNT_PARAM))
        self.env.registry.clear_cache()
        self.assertEqual(self.env["res.partner"]._customer_status_settings()[1:], (3, 12))
        with mute_logger("odoo.addons.base.models.res_config"):  # Odoo warns it cannot read "many"
            settings = self._settings()
        self.assertEqual((settings.customer_regular_count, settings.customer_regular_months), (3, 12))
        self._win(self.paula, T0, count=3)
        self.assertEqual(self._statuses(self.paula), ["regular"])

    # ------------------------------------------------------------
    # the process's, not the users'
    # ------------------------------------------------------------

    def test_salesman_cannot_write_the_status(self):
        partner = self.paula.with_user(self.user_sales_salesman)
        for write in (lambda: partner.write({"customer_status": "regular"}),
                      lambda: partner.write({"name": "Paula P.", "customer_status": "regular"}),
                      lambda: partner.write({"customer_status_until": "2030-01-01 00:00:00"}),
                      lambda: partner.create({"name": "Vic VIP", "customer_status": "regular"}),
                      lambda: self._create_opportunity(partner_id=self.paula.id).with_user(
                          self.user_sales_salesman).write({"partner_customer_status": "regular"})):
            with self.assertRaises(UserError) as refused:
                write()
            self.assertIn("computed by the sales process", str(refused.exception))
        self.assertEqual(self._statuses(self.paula), ["prospect"])
        self.assertEqual(self.paula.name, "Paula Private", "nothing half-written")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Vic VIP")]))
        # the process writes it as the superuser only, in its statements
        self.paula.sudo().write({"customer_status": "regular"})
        self.assertEqual(self._statuses(self.paula), ["regular"])

    # ------------------------------------------------------------
    # where it shows: leads' form, card, filters, group-bys
    # ------------------------------------------------------------

    def _filter_domain(self, model, name, user=None):
        """Domain of the filter ``name`` of the model's default search view, as the web client
        evaluates it."""
        env = self.env(user=user) if user else self.env
        arch = etree.fromstring(env[model].get_views([(False, "search")])["views"]["search"]["arch"])
        node = arch.xpath(f"//filter[@name='{name}']")
        self.assertTrue(node, f"filter {name} of {model}")
        return safe_eval(node[0].get("domain") or "[]"), node[0].get("context")

    def test_search_filters_and_group_bys(self):
        self._win(self.alice)
        self._win(self.paula, count=3)
        lapsed = self.env["res.partner"].create({"name": "Lars Lapsed"})
        self._win(lapsed, months(-13))
        self._sweep(T0)
        ours = self.company | self.alice | self.bob | self.paula | lapsed | self.other_company
        Partner = self.env["res.partner"].with_user(self.user_sales_salesman)
        expected = {"customer_status_prospect": self.other_company, "customer_status_new": self.company | self.alice
                    | self.bob, "customer_status_regular": self.paula, "customer_status_lapsed": lapsed}
        for name, partners in expected.items():
            domain, __ = self._filter_domain("res.partner", name, self.user_sales_salesman)
            self.assertEqual(Partner.search(domain + [("id", "in", ours.ids)]), partners, name)
        __, context = self._filter_domain("res.partner", "group_customer_status", self.user_sales_salesman)
        self.assertEqual(safe_eval(context), {"group_by": "customer_status"})
        groups = dict(Partner._read_group([("id", "in", ours.ids)], ["customer_status"], ["__count"]))
        self.assertEqual(groups, {"prospect": 1, "new": 3, "regular": 1, "lapsed": 1})
        # CRM: open opportunities of returning customers, and of prospects
        Lead = self.env["crm.lead"].with_user(self.user_sales_salesman)
        leads = {partner: self._create_opportunity(partner_id=partner.id)
                 for partner in (self.bob, self.paula, lapsed, self.other_company)}
        leads[None] = self._create_opportunity(partner_id=False)
        mine = Lead.browse([lead.id for lead in leads.values()])
        domain, __ = self._filter_domain("crm.lead", "returning_customers", self.user_sales_salesman)
        self.assertEqual(mine.search(domain + [("id", "in", mine.ids)]),
                         leads[self.bob] | leads[self.paula] | leads[lapsed])
        domain, __ = self._filter_domain("crm.lead", "prospects", self.user_sales_salesman)
        self.assertEqual(mine.search(domain + [("id", "in", mine.ids)]), leads[self.other_company] | leads[None])
        __, context = self._filter_domain("crm.lead", "group_customer_status", self.user_sales_salesman)
        self.assertEqual(safe_eval(context), {"group_by": "partner_customer_status"})
        groups = dict(Lead._read_group([("id", "in", mine.ids)], ["partner_customer_status"], ["__count"]))
        self.assertEqual(groups, {"new": 1, "regular": 1, "lapsed": 1, "prospect": 1, False: 1})
        # an automation rule's condition: the lead's field, or the customer's
        self.assertEqual(mine.filtered_domain([("partner_id.customer_status", "=", "regular")]), leads[self.paula])
        self.assertEqual(Lead.search([("partner_customer_status", "=", "lapsed"), ("id", "in", mine.ids)]),
                         leads[lapsed])

    def test_lead_form_and_card(self):
        Lead = self.env["crm.lead"].with_user(self.user_sales_salesman)
        form = etree.fromstring(Lead.get_views([(False, "form")])["views"]["form"]["arch"])
        self.assertTrue(form.xpath("//field[@name='partner_customer_status'][@widget='badge']"))
        kanban = etree.fromstring(Lead.get_views(
            [(self.env.ref("crm.crm_case_kanban_view_leads").id, "kanban")])["views"]["kanban"]["arch"])
        self.assertTrue(kanban.xpath("//span[contains(@t-attf-class, 'o_sps_customer_status')]"))
        self.assertIn("['new', 'regular', 'lapsed'].includes(record.partner_customer_status.raw_value)",
                      etree.tostring(kanban, encoding="unicode"), "no badge for prospects")

    def test_card_reads_the_status_with_the_customer(self):
        """The cards read the status with their customer: no query of its own."""
        self._win(self.paula)
        leads = self.env["crm.lead"].browse([self._create_opportunity(partner_id=partner.id).id for partner in (
            self.paula, self.alice, self.bob, self.other_company)]).with_user(self.user_sales_salesman)
        spec = {"name": {}, "partner_id": {"fields": {"display_name": {}}}}

        def read(extra):
            return self._queries(lambda: leads.web_read({**spec, **extra}))

        read({})
        self.assertEqual(read({"partner_customer_status": {}}), read({}))


@tagged("post_install", "-at_install", "customer_status", "sps_performance")
class TestCustomerStatusQueries(CustomerStatusCommon):

    def _partners_won(self, count, when):
        partners = self.env["res.partner"].create([{"name": f"Customer {index}"} for index in range(count)])
        with self.mock_datetime_and_now(when):
            leads = self.env["crm.lead"].create([{
                "name": f"Deal {index}", "type": "opportunity", "team_id": self.team_plain.id,
                "stage_id": self.stage_plain_new.id, "partner_id": partner.id,
            } for index, partner in enumerate(partners)])
        return partners, leads

    def test_sweep_queries_do_not_grow_with_the_contacts(self):
        counts = {}
        self._sweep(T0)  # the database up to date (every contact, the first time)
        self._sweep(T0)  # caches warm
        for size in (1, 10, 100):
            partners, leads = self._partners_won(size, T0)
            with self.mock_datetime_and_now(T0):
                leads.action_set_won()
            when = months(13, days=size)
            counts[size] = self._queries(lambda when=when: self._sweep(when))
            self.assertEqual(set(self._statuses(*partners)), {"lapsed"})
        _logger.info("queries of the customer status sweep, 1/10/100 contacts changing: %s", counts)
        self.assertEqual(counts[1], counts[10], counts)
        self.assertEqual(counts[10], counts[100], counts)
        self.assertLessEqual(counts[100], 6, counts)

    def test_won_queries_do_not_grow_with_the_leads(self):
        """Winning opportunities costs what moving them costs, plus a bounded number of queries
        (crm's ``action_set_won`` looks for the won stage lead by lead: a write into it here)."""
        counts, plain = {}, {}
        won = {"stage_id": self.stage_plain_won.id}
        self._partners_won(2, T0)[1].write(won)  # warm caches
        for size in (1, 10, 100):
            __, leads = self._partners_won(size, T0)
            counts[size] = self._queries(lambda leads=leads: leads.write(won))
            self.assertEqual(set(leads.partner_id.mapped("customer_status")), {"new"})
            __, leads = self._partners_won(size, T0)
            plain[size] = self._queries(lambda leads=leads: leads.write({"stage_id": self.stage_plain_proposition.id}))
        _logger.info("queries to win 1/10/100 opportunities: %s; to move them: %s", counts, plain)
        self.assertLessEqual(counts[100] - counts[10], plain[100] - plain[10] + 2, (counts, plain))
        self.assertLessEqual(counts[100] - plain[100], 6, (counts, plain))


@tagged("post_install", "-at_install", "customer_status")
class TestCustomerStatusRpc(CustomerStatusCommon, JsonRpcMixin, HttpCase):

    def test_salesman_cannot_write_the_status_over_rpc(self):
        for vals in ({"customer_status": "regular"}, {"comment": "VIP", "customer_status": "lapsed"}):
            with self.subTest(vals=vals):
                __, error = self._rpc("res.partner", "write", [self.paula.ids, vals])
                self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
                self.assertIn("computed by the sales process", error[1])
        __, error = self._rpc("res.partner", "web_save", [[], {"name": "Vic VIP", "customer_status": "regular"}],
                              {"specification": {"customer_status": {}}})
        self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        for context in ({"tracking_disable": True}, {"install_mode": True}, {"active_test": False}):
            __, error = self._rpc("res.partner", "write", [self.paula.ids, {"customer_status": "regular"}],
                                  {"context": context})
            self.assertEqual(error and error[0], "odoo.exceptions.ValidationError")
        self.assertEqual(self._statuses(self.paula), ["prospect"])
        self.paula.invalidate_recordset()
        self.assertFalse(self.paula.comment)
        # reading it, searching and grouping by it are every salesman's
        result, error = self._rpc("res.partner", "web_search_read", [], {
            "domain": [("customer_status", "=", "prospect"), ("id", "=", self.paula.id)],
            "specification": {"customer_status": {}}})
        self.assertIsNone(error)
        self.assertEqual(result["records"], [{"id": self.paula.id, "customer_status": "prospect"}])
