from odoo import _, api, fields, models
from odoo.tools import SQL


class CrmLeadStageHistory(models.Model):
    """One row per stay of a lead in a stage: opened when the lead enters the stage (creation,
    move, restore), closed when it leaves it (move, won, lost, merge). Rows are written by the
    lead's hooks only (stays ending and starting in one SQL statement, the rest in sudo); users
    read them as they read the leads."""

    _name = "crm.lead.stage.history"
    _description = "Lead Stage History"
    _order = "date_in desc, id desc"
    _rec_name = "stage_id"
    # a log written in batch by the leads' hooks: the stay's own dates say when, the lead's chatter who
    # (no create/write user and date: two foreign keys less to check on each of thousands of rows)
    _log_access = False

    # indexed by lead (its stays) and stage (the conversion report): every move inserts and updates
    # a row per lead, each index an insert more; company, team and salesperson only narrow down
    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True, ondelete="set null")
    stage_id = fields.Many2one("crm.stage", index=True, readonly=True, ondelete="set null")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True, ondelete="set null")
    # the stay
    date_in = fields.Datetime("Entered", required=True, readonly=True)
    date_out = fields.Datetime("Left", readonly=True)
    duration_hours = fields.Float(
        "Duration (Hours)", readonly=True, aggregator="avg", digits=(16, 2),
        help="Hours from entering to leaving the stage (0 while the lead is still in it).")
    stay_days = fields.Float(
        "Days", compute="_compute_stay_days", digits=(16, 1),
        help="Days in the stage: from entering to leaving it, or until now for the current stay.")
    entry_type = fields.Selection(
        [("create", "Created"), ("move", "Moved In"), ("restore", "Restored"), ("rebuild", "Before Tracking")],
        string="Entry", readonly=True,
        help="How the stay started. “Before Tracking”: a lead that had no stage change in its chatter when "
        "the history was rebuilt; the stay starts at its last stage update.")
    exit_type = fields.Selection(
        [("move", "Moved Out"), ("won", "Won"), ("lost", "Lost"), ("transferred", "Transferred"),
         ("merge", "Merged")],
        string="Exit", readonly=True)
    is_rebuilt = fields.Boolean("Rebuilt from Tracking", readonly=True)
    merged_from = fields.Char(readonly=True, help="Lead this stay belonged to before a merge.")
    # its SLA
    sla_deadline = fields.Datetime("SLA Deadline", readonly=True)
    sla_result = fields.Selection([("met", "Met"), ("missed", "Missed")], string="SLA", readonly=True)
    # holds during the stay
    hold_count = fields.Integer("Holds", readonly=True)
    hold_hours = fields.Float("Hours on Hold", readonly=True, digits=(16, 2))
    hold_reason = fields.Char(readonly=True, help="Reason of the last hold.")
    # a sales manager's forced move into the stage
    is_forced = fields.Boolean(
        "Forced", readonly=True, help="A sales manager moved the lead into the stage past the process rules.")
    force_reason = fields.Char("Why Forced", readonly=True)

    _sql_constraints = [
        # a lead is in one stage at a time; checked at the end of each statement, so that one
        # statement may end a stay and start the next one
        ("one_open_stay", "EXCLUDE USING btree (lead_id WITH =) WHERE (date_out IS NULL) "
         "DEFERRABLE INITIALLY IMMEDIATE", "A lead is in one stage at a time: it has one open stay."),
    ]

    # ------------------------------------------------------------
    # BUSINESS: written by crm.lead's hooks
    # ------------------------------------------------------------

    @api.model
    def _write_stays(self, closing=None, opening=None):
        """End and start stays now, in one statement whatever the number of leads.

        :param closing: {lead id: (exit type, SLA result, hours on hold to add)}: their open stay ends
        :param opening: {entry type: leads}: a stay starts in each lead's current stage
        """
        now = self.env.cr.now()
        queries = []
        if closing:
            lead_ids, exit_types, results, hold_hours = zip(*(
                (lead_id, exit_type, result or None, hours or 0.0)
                for lead_id, (exit_type, result, hours) in closing.items()), strict=True)
            queries.append(SQL("""
                UPDATE crm_lead_stage_history stay
                   SET date_out = %(now)s,
                       duration_hours = GREATEST(EXTRACT(EPOCH FROM (%(now)s - stay.date_in)) / 3600, 0),
                       exit_type = closing.exit_type,
                       sla_result = closing.sla_result,
                       hold_hours = COALESCE(stay.hold_hours, 0) + closing.hold_hours
                  FROM unnest(%(lead_ids)s::int[], %(exit_types)s::varchar[], %(results)s::varchar[],
                              %(hold_hours)s::float[]) AS closing(lead_id, exit_type, sla_result, hold_hours)
                 WHERE stay.lead_id = closing.lead_id
                   AND stay.date_out IS NULL
            """, now=now, lead_ids=list(lead_ids), exit_types=list(exit_types), results=list(results),
                hold_hours=list(hold_hours)))
        leads_by_entry = [(entry_type, lead) for entry_type, leads in (opening or {}).items() for lead in leads]
        if leads_by_entry:
            # the stays start with the leads' values as written (read from the records, not flushed)
            rows = [(lead.id, lead.company_id.id or None, lead.team_id.id or None, lead.stage_id.id or None,
                     lead.user_id.id or None, entry_type, lead.sla_deadline or None, lead.sla_hold_until or None,
                     lead.sla_hold_reason or None) for entry_type, lead in leads_by_entry]
            columns = list(zip(*rows, strict=True))
            queries.append(SQL("""
                INSERT INTO crm_lead_stage_history (
                    lead_id, company_id, team_id, stage_id, user_id, date_in, entry_type, sla_deadline,
                    hold_count, hold_reason, duration_hours, hold_hours)
                SELECT new.lead_id, new.company_id, new.team_id, new.stage_id, new.user_id, %(now)s, new.entry_type,
                       new.sla_deadline, CASE WHEN new.hold_until IS NULL THEN 0 ELSE 1 END,
                       CASE WHEN new.hold_until IS NULL THEN NULL ELSE new.hold_reason END, 0, 0
                  FROM unnest(%(lead_ids)s::int[], %(company_ids)s::int[], %(team_ids)s::int[], %(stage_ids)s::int[],
                              %(user_ids)s::int[], %(entry_types)s::varchar[], %(deadlines)s::timestamp[],
                              %(hold_until)s::date[], %(hold_reasons)s::varchar[])
                       AS new(lead_id, company_id, team_id, stage_id, user_id, entry_type, sla_deadline, hold_until,
                              hold_reason)
            """, now=now, lead_ids=list(columns[0]), company_ids=list(columns[1]), team_ids=list(columns[2]),
                stage_ids=list(columns[3]), user_ids=list(columns[4]), entry_types=list(columns[5]),
                deadlines=list(columns[6]), hold_until=list(columns[7]), hold_reasons=list(columns[8])))
        if not queries:
            return
        self.flush_model()
        if len(queries) == 2:
            # the stays end and start in one statement (the one-open-stay constraint is checked after it)
            self.env.cr.execute(SQL("WITH closed AS (%s) %s", *queries))
        else:
            self.env.cr.execute(queries[0])
        self.invalidate_model()
        self.env["crm.lead"].invalidate_model(["stage_history_ids"])

    # leads whose open stay is to follow their salesperson and team: {lead id}, per transaction
    _pending_owners_key = "sales_process_stages.stay_owners"


    @api.depends_context("uid")
    def _compute_stay_days(self):
        now = fields.Datetime.now()
        for stay in self:
            end = stay.date_out or now
            stay.stay_days = max((end - stay.date_in).total_seconds(), 0) / 86400 if stay.date_in else 0.0

    @api.model
    def _sync_open_stay_owners_later(self, leads):
        """The leads' open stays follow their new salesperson and team, once per transaction:
        before the stays are next read or written (``flush_model``), at the latest before the
        commit. Odoo's assignment writes the salesperson lead by lead: a statement each would
        make it cost a query per lead more than in plain Odoo."""
        pending = self.env.cr.precommit.data.setdefault(self._pending_owners_key, set())
        if not pending:
            self.env.cr.precommit.add(self._sync_pending_owners)
        pending.update(leads.ids)

    def _sync_pending_owners(self):
        lead_ids = self.env.cr.precommit.data.pop(self._pending_owners_key, None)
        if lead_ids:
            self._sync_open_stays(self.env["crm.lead"].sudo().browse(lead_ids).exists(), owner=True)

    def flush_model(self, fnames=None):
        self._sync_pending_owners()
        return super().flush_model(fnames)

    def _get_open_stays(self, lead_ids):
        return self.sudo().search([("lead_id", "in", list(lead_ids)), ("date_out", "=", False)])

    @api.model
    def _sync_open_stays(self, leads, owner=False):
        """Copy the leads' SLA deadline (and, with ``owner``, salesperson and team) on their open
        stays: one statement, with the leads' values as written."""
        if not leads:
            return
        self.flush_model()
        assignments = [SQL("sla_deadline = lead.sla_deadline")]
        changed = [SQL("stay.sla_deadline IS DISTINCT FROM lead.sla_deadline")]
        if owner:
            assignments += [SQL("user_id = lead.user_id"), SQL("team_id = lead.team_id")]
            changed += [SQL("stay.user_id IS DISTINCT FROM lead.user_id"),
                        SQL("stay.team_id IS DISTINCT FROM lead.team_id")]
        self.env.cr.execute(SQL("""
            UPDATE crm_lead_stage_history stay
               SET %(assignments)s
              FROM unnest(%(lead_ids)s::int[], %(deadlines)s::timestamp[], %(user_ids)s::int[], %(team_ids)s::int[])
                   AS lead(id, sla_deadline, user_id, team_id)
             WHERE stay.lead_id = lead.id
               AND stay.date_out IS NULL
               AND (%(changed)s)
         RETURNING stay.id
        """, assignments=SQL(", ").join(assignments), lead_ids=leads.ids,
            deadlines=[lead.sla_deadline or None for lead in leads],
            user_ids=[lead.user_id.id or None for lead in leads], team_ids=[lead.team_id.id or None for lead in leads],
            changed=SQL(" OR ").join(changed)))
        if self.env.cr.rowcount:
            self.invalidate_model(["sla_deadline", "user_id", "team_id"])

    @api.model
    def _record_holds_started(self, leads):
        """The leads were put on hold: count it on their open stays, with its reason."""
        reasons = {lead.id: lead.sla_hold_reason for lead in leads}
        for stay in self._get_open_stays(leads.ids):
            stay.write({"hold_count": stay.hold_count + 1, "hold_reason": reasons[stay.lead_id.id]})

    @api.model
    def _record_forced_moves(self, leads, reason):
        """A sales manager forced the leads into their stage past its rules: their new stays say so."""
        self._get_open_stays(leads.ids).write({"is_forced": True, "force_reason": reason})

    @api.model
    def _record_holds_ended(self, before):
        """Holds ended: add their hours to the open stays.

        :param before: {lead id: values before the write, with "sla_hold_start"}"""
        now = self.env.cr.now()
        for stay in self._get_open_stays(before):
            hold_start = before[stay.lead_id.id]["sla_hold_start"]
            if hold_start:
                stay.write({"hold_hours": stay.hold_hours + max((now - hold_start).total_seconds() / 3600, 0.0)})

    @api.model
    def _merge_stays(self, head, tails):
        """Leads ``tails`` are merged into ``head``: their stays go to ``head``, as their messages
        do (crm.lead._merge_dependences_history), their open stay ending; one statement."""
        tails = tails.sudo()
        if not tails:
            return
        now = self.env.cr.now()
        # the rows as written (the salespeople of open stays may follow later: a merge is no reason)
        super().flush_model()
        self.env.cr.execute(SQL("""
            UPDATE crm_lead_stage_history stay
               SET lead_id = %(head)s,
                   merged_from = tail.name,
                   date_out = COALESCE(stay.date_out, %(now)s),
                   duration_hours = CASE WHEN stay.date_out IS NULL
                                         THEN GREATEST(EXTRACT(EPOCH FROM (%(now)s - stay.date_in)) / 3600, 0)
                                         ELSE stay.duration_hours END,
                   exit_type = CASE WHEN stay.date_out IS NULL THEN 'merge' ELSE stay.exit_type END,
                   sla_result = CASE WHEN stay.date_out IS NULL THEN tail.sla_result ELSE stay.sla_result END
              FROM unnest(%(tail_ids)s::int[], %(names)s::varchar[], %(results)s::varchar[])
                   AS tail(id, name, sla_result)
             WHERE stay.lead_id = tail.id
        """, head=head.id, now=now, tail_ids=tails.ids, names=[tail.name for tail in tails],
            results=[self.env["crm.lead"]._sla_result({
                "sla_deadline": tail.sla_deadline, "sla_hold_until": tail.sla_hold_until,
                "sla_hold_start": tail.sla_hold_start}, now) or None for tail in tails]))
        self.invalidate_model()
        self.env["crm.lead"].invalidate_model(["stage_history_ids"])

    # ------------------------------------------------------------
    # BUSINESS: the past, rebuilt at install
    # ------------------------------------------------------------

    @api.model
    def _rebuild_from_tracking(self, lead_ids=None):
        """Rebuild the stays of leads without history from Odoo's stage tracking (the chatter's
        stage changes, which the form's per-stage durations read too), in one INSERT ... SELECT:

        - a tracked lead stayed in the first tracking's old stage from its creation, then in each
          tracking's new stage until the next tracking;
        - a lead without tracking gets one stay in its stage from its last stage update;
        - the last stay of a lost lead ends when it was lost (``date_closed``).

        :param lead_ids: only these leads (default: all leads without history)
        :return: number of stays created
        """
        field = self.env["ir.model.fields"]._get("crm.lead", "stage_id")
        self.env.flush_all()
        lead_filter = SQL("lead.id = ANY(%s)", list(lead_ids)) if lead_ids is not None else SQL("TRUE")
        self.env.cr.execute(SQL("""
            WITH leads AS (
                SELECT lead.* FROM crm_lead lead
                 WHERE %(lead_filter)s
                   AND NOT EXISTS (SELECT 1 FROM crm_lead_stage_history stay WHERE stay.lead_id = lead.id)
            ), tracking AS (
                SELECT message.res_id AS lead_id, value.id AS tracking_id, value.create_date AS date,
                       value.old_value_integer AS old_stage_id, value.new_value_integer AS new_stage_id
                  FROM mail_tracking_value value
                  JOIN mail_message message ON message.id = value.mail_message_id
                  JOIN leads ON leads.id = message.res_id
                 WHERE value.field_id = %(field_id)s AND message.model = 'crm.lead'
            ), stays AS (
                -- before the first change: the first tracking's old stage, since the lead's creation
                (SELECT DISTINCT ON (tracking.lead_id)
                        tracking.lead_id, tracking.old_stage_id AS stage_id, leads.create_date AS date_in,
                        tracking.date AS date_out, tracking.new_stage_id AS next_stage_id, 'create' AS entry_type
                   FROM tracking JOIN leads ON leads.id = tracking.lead_id
               ORDER BY tracking.lead_id, tracking.tracking_id)
                UNION ALL
                -- after each change: its new stage, until the next change
                SELECT tracking.lead_id, tracking.new_stage_id, tracking.date,
                       LEAD(tracking.date) OVER w, LEAD(tracking.new_stage_id) OVER w, 'move'
                  FROM tracking
                WINDOW w AS (PARTITION BY tracking.lead_id ORDER BY tracking.tracking_id)
                UNION ALL
                -- never tracked: its stage, since its last stage update
                SELECT leads.id, leads.stage_id, COALESCE(leads.date_last_stage_update, leads.create_date),
                       NULL, NULL, 'rebuild'
                  FROM leads
                 WHERE NOT EXISTS (SELECT 1 FROM tracking WHERE tracking.lead_id = leads.id)
            )
            INSERT INTO crm_lead_stage_history (
                lead_id, company_id, team_id, stage_id, user_id, date_in, date_out, duration_hours,
                entry_type, exit_type, is_rebuilt, hold_count, hold_hours)
            SELECT stays.lead_id, leads.company_id, leads.team_id, stays.stage_id, leads.user_id, stays.date_in,
                   closed.date_out,
                   COALESCE(EXTRACT(EPOCH FROM (closed.date_out - stays.date_in)) / 3600, 0),
                   stays.entry_type,
                   CASE WHEN closed.date_out IS NULL THEN NULL
                        WHEN stays.date_out IS NULL THEN 'lost'
                        WHEN next_stage.is_won AND stage.is_won IS NOT TRUE THEN 'won'
                        ELSE 'move' END,
                   TRUE, 0, 0
              FROM stays
              JOIN leads ON leads.id = stays.lead_id
              JOIN crm_stage stage ON stage.id = stays.stage_id
         LEFT JOIN crm_stage next_stage ON next_stage.id = stays.next_stage_id
             CROSS JOIN LATERAL (
                SELECT CASE WHEN stays.date_out IS NOT NULL THEN stays.date_out
                            WHEN NOT leads.active THEN GREATEST(COALESCE(leads.date_closed, leads.write_date),
                                                                stays.date_in)
                       END AS date_out
             ) closed
        """, lead_filter=lead_filter, field_id=field.id))
        count = self.env.cr.rowcount
        self.invalidate_model()
        return count

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_lead(self):
        self.ensure_one()
        return self.lead_id._get_records_action(name=_("Lead"))
