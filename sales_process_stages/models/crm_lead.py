from collections import defaultdict

from lxml import etree
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # Checklist
    checklist_line_ids = fields.One2many("crm.lead.checklist.line", "lead_id", string="Checklist")
    checklist_mandatory_total = fields.Integer(
        "Mandatory Items", compute="_compute_checklist_progress", store=True)
    checklist_mandatory_done = fields.Integer(
        "Mandatory Items Done", compute="_compute_checklist_progress", store=True)
    checklist_progress = fields.Float(
        compute="_compute_checklist_progress", store=True, aggregator="avg",
        help="Share of the current stage's mandatory checklist items that are done or skipped (%).")
    # Entry requirements: fields the form marks required (current and next stage), as ",name,name,"
    stage_required_fields = fields.Char("Required Fields", compute="_compute_stage_required_fields")
    # Loss: where and why
    lost_stage_id = fields.Many2one(
        "crm.stage", string="Lost in Stage", compute="_compute_lost_stage_id", store=True, index="btree_not_null",
        help="Stage the lead was in when it was lost; restoring the lead puts it back there.")
    lost_competitor_id = fields.Many2one(
        "res.partner", string="Lost to Competitor", tracking=True, index="btree_not_null",
        help="The competitor who won the deal.")
    lost_competitor_name = fields.Char("Competitor Name", tracking=True)
    lost_note = fields.Text(tracking=True)
    # "Move to Stage" dialog: open mandatory items of the current stage
    stage_move_line_ids = fields.Many2many(
        "crm.lead.checklist.line", string="Open Mandatory Items", compute="_compute_stage_move_line_ids")

    @api.depends("stage_id", "checklist_line_ids.state", "checklist_line_ids.stage_id",
                 "checklist_line_ids.is_mandatory")
    def _compute_checklist_progress(self):
        for lead in self:
            lines = lead.checklist_line_ids.filtered(
                lambda line, stage=lead.stage_id: line.is_mandatory and line.stage_id == stage)
            done = len(lines.filtered(lambda line: line.state != "open"))
            lead.checklist_mandatory_total = len(lines)
            lead.checklist_mandatory_done = done
            lead.checklist_progress = 100.0 * done / len(lines) if lines else 0.0

    @api.depends("stage_id", "team_id")
    def _compute_stage_required_fields(self):
        rules = self.env["crm.stage"]._get_process_rules()["stages"]
        for lead in self:
            names = set()
            if lead.stage_id.id in rules:
                names.update(rules[lead.stage_id.id]["required_fields"])
                next_stage = lead._get_next_stage_id(rules)
                if next_stage:
                    names.update(rules[next_stage]["required_fields"])
            lead.stage_required_fields = f",{','.join(sorted(names))}," if names else False

    @api.depends("active")
    def _compute_lost_stage_id(self):
        for lead in self:
            if lead.active:
                lead.lost_stage_id = False
            elif not lead.lost_stage_id:
                lead.lost_stage_id = lead.stage_id

    @api.depends("stage_id", "checklist_line_ids.state")
    def _compute_stage_move_line_ids(self):
        for lead in self:
            lead.stage_move_line_ids = lead.checklist_line_ids.filtered(
                lambda line, stage=lead.stage_id: line.stage_id == stage and line.is_mandatory
                and line.state == "open")

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        lost = leads.filtered(lambda lead: not lead.active)
        if lost:
            lost._check_loss({})
        rules = self.env["crm.stage"]._get_process_rules()
        moves = [(lead, False, lead.stage_id.id) for lead in leads if lead.stage_id]
        if any(self.env["crm.stage"]._has_process_rules(new) for __, __, new in moves):
            # values are final only once created (computed stage, defaults): check them now,
            # raising undoes the whole create
            leads._check_stage_moves(moves, rules)
            leads._enter_stages(moves, rules)
        if rules["fixed_probability_teams"]:
            given = {lead.id for lead, vals in zip(leads, vals_list, strict=True) if "probability" in vals}
            leads._set_fixed_probability([move for move in moves if move[0].id not in given], rules)
        return leads

    def write(self, vals):
        back_to = {}
        if "active" in vals:
            if not vals["active"]:
                self.filtered("active")._check_loss(vals)
            elif restored := self.filtered(lambda lead: not lead.active):
                # restoring a lost lead puts it back in the stage it was lost in, checklist as it was;
                # the loss details go (the chatter keeps them)
                vals = {"lost_competitor_id": False, "lost_competitor_name": False, "lost_note": False, **vals}
                if "stage_id" not in vals:
                    for lead in restored:
                        if lead.lost_stage_id and lead.lost_stage_id != lead.stage_id:
                            back_to.setdefault(lead.lost_stage_id, []).append(lead.id)
        res = self._write_stage(vals) if "stage_id" in vals else super().write(vals)
        for stage, lead_ids in back_to.items():
            self.browse(lead_ids).with_context(stage_move_restore=True).write({"stage_id": stage.id})
        return res

    def _write_stage(self, vals):
        """``write`` moving leads: check every move at the gate, write, then enter the stages."""
        rules = self.env["crm.stage"]._get_process_rules()
        new_stage_id = vals["stage_id"] or False
        moves = [(lead, lead.stage_id.id, new_stage_id) for lead in self if lead.stage_id.id != new_stage_id]
        if not moves or not self._moves_have_rules(moves, rules):
            return super().write(vals)
        if not self.env.context.get("stage_move_restore"):
            self._check_stage_moves(moves, rules, vals)
        res = super().write(vals)
        self._enter_stages(moves, rules)
        if "probability" not in vals:
            self._set_fixed_probability(moves, rules)
        return res

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        """Mark the fields required by the lead's current and next stage as required in forms;
        in the "Move to Stage" dialog, ask for the fields the target stage requires."""
        arch, view = super()._get_view(view_id, view_type, **options)
        if view_type != "form":
            return arch, view
        # the key ends with "_view_ref": the web client sends only those keys (and lang) with get_views,
        # and Odoo's view cache keys on them
        target = self.env.context.get("stage_move_view_ref")
        placeholder = arch.xpath("//group[@name='stage_move_fields']")
        if target and placeholder:
            rules = self.env["crm.stage"]._get_process_rules()["stages"].get(target)
            for name in rules["required_fields"] if rules else ():
                placeholder[0].append(etree.Element("field", name=name, required="1"))
            return arch, view
        rules = self.env["crm.stage"]._get_process_rules()["stages"]
        required = {name for stage in rules.values() for name in stage["required_fields"]}
        if not required:
            return arch, view
        marked = False
        for node in arch.xpath("//field[not(ancestor::field)]"):
            name = node.get("name")
            if name not in required:
                continue
            condition = f"',{name},' in (stage_required_fields or '')"
            if node.get("required") not in (None, "0", "False"):
                condition = f"({node.get('required')}) or {condition}"
            node.set("required", condition)
            marked = True
        if marked and not arch.xpath("//field[@name='stage_required_fields'][not(ancestor::field)]"):
            sheet = (arch.xpath("//sheet") or [arch])[0]
            sheet.append(etree.Element("field", name="stage_required_fields", invisible="1"))
        return arch, view

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_stage_move(self):
        """Open the "Move to Stage" wizard."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Move to Stage"),
            "res_model": "crm.lead.stage.move",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    def action_set_lost(self, **additional_values):
        """Write the loss details before archiving, so that the gate sees the reason with the archive."""
        if additional_values:
            self.write(dict(additional_values))
        return super().action_set_lost()

    def action_open_transfer(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Transfer to Another Pipeline"),
            "res_model": "crm.lead.transfer",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_ids": self.ids},
        }

    def action_stage_move_confirm(self):
        """Button of the "Move to Stage" dialog: the values are saved, move through the gate."""
        self.ensure_one()
        stage_id = self.env.context.get("stage_move_view_ref")
        if not stage_id:
            raise UserError(_("No stage to move to."))
        self.write({"stage_id": stage_id})
        return {"type": "ir.actions.act_window_close"}

    # ------------------------------------------------------------
    # BUSINESS: the stage gate
    # ------------------------------------------------------------

    def _moves_have_rules(self, moves, rules):
        stage_rules = rules["stages"]
        if any(lead.team_id.id in rules["teams"] or lead.team_id.id in rules["fixed_probability_teams"]
               for lead, __, __ in moves):
            return True
        for __, old, new in moves:
            if new and self.env["crm.stage"]._has_process_rules(new):
                return True
            if old in stage_rules and stage_rules[old]["mandatory_item_ids"]:
                return True
        return False

    def _get_next_stage_id(self, stage_rules):
        """Id of the stage following the lead's stage in its pipeline (won stages excluded)."""
        self.ensure_one()
        current = stage_rules.get(self.stage_id.id)
        if not current:
            return False
        key = (current["sequence"], self.stage_id.id)
        candidates = [
            (rule["sequence"], stage_id) for stage_id, rule in stage_rules.items()
            if rule["team_id"] in (False, self.team_id.id) and not rule["is_won"]
            and (rule["sequence"], stage_id) > key
        ]
        return min(candidates)[1] if candidates else False

    @api.model
    def _is_forward(self, stage_rules, old, new):
        if not old or not new:
            return False
        if stage_rules[new]["is_won"] and not stage_rules[old]["is_won"]:
            return True
        return (stage_rules[new]["sequence"], new) > (stage_rules[old]["sequence"], old)

    def _check_stage_moves(self, moves, rules, vals=None):
        """The gate: check every move of the batch at once and refuse them all with one message
        naming each lead, stage and what it lacks. A sales manager's forced move (context key
        ``stage_move_force_reason``) passes and is recorded in the chatter with what it bypassed.

        :param moves: list of (lead, old stage id, new stage id)
        :param vals: values of the write being checked (the values the leads will have)
        """
        problems = self._get_stage_move_problems(moves, rules, vals or {})
        if not problems:
            return
        reason = self.env.context.get("stage_move_force_reason")
        if reason:
            if not self.env.user.has_group("sales_team.group_sale_manager"):
                raise UserError(_("Only sales managers can force a stage move past its rules."))
            bodies = {}
            for lead, lines in problems.items():
                bodies[lead.id] = Markup("<p>%s</p><ul>%s</ul>") % (
                    _("Stage move forced past the process rules. Reason: %(reason)s", reason=reason),
                    Markup().join(Markup("<li>%s</li>") % escape(line) for line in lines),
                )
            self.browse([lead.id for lead in problems])._message_log_batch(bodies)
            return
        message = _("These stage moves are refused:") + "\n" + "\n".join(
            f"- {lead.display_name}: {line}" for lead, lines in problems.items() for line in lines)
        message += "\n" + _(
            "Fill in what is missing and complete the open items, or use “Move to Stage” on the lead "
            "to do it in one step.")
        raise UserError(message)

    def _get_stage_move_problems(self, moves, rules, vals):
        """:return: {lead: [problem, ...]} in the user's language, for the moves that break a rule."""
        stage_rules, team_policies = rules["stages"], rules["teams"]
        Stage = self.env["crm.stage"]
        problems = defaultdict(list)
        stage_names = {stage.id: stage.display_name for stage in Stage.browse(
            {stage for __, old, new in moves for stage in (old, new) if stage})}
        today = fields.Date.context_today(self)

        # open mandatory items of the stages left forward: one query for the batch
        # a transfer to another pipeline leaves it: not a move forward in it
        transfer = "team_id" in vals and any(lead.team_id.id != vals["team_id"] for lead, __, __ in moves)
        leaving = [(lead, old) for lead, old, new in moves
                   if not transfer and old in stage_rules and stage_rules[old]["mandatory_item_ids"]
                   and new in stage_rules and self._is_forward(stage_rules, old, new)]
        open_lines = defaultdict(list)
        if leaving:
            for line in self.env["crm.lead.checklist.line"].sudo().search_fetch([
                ("lead_id", "in", [lead.id for lead, __ in leaving]),
                ("stage_id", "in", list({old for __, old in leaving})),
                ("state", "=", "open"), ("is_mandatory", "=", True),
            ], ["lead_id", "stage_id", "name"]):
                open_lines[line.lead_id.id, line.stage_id.id].append(line.name)

        # a planned next activity is one the rep planned, not a checklist item's
        checklist_activity_ids = set()
        if any(stage_rules.get(new, {}).get("require_next_activity") for __, __, new in moves):
            leads = self.browse([lead.id for lead, __, new in moves
                                 if stage_rules.get(new, {}).get("require_next_activity")])
            checklist_activity_ids = set(self.env["crm.lead.checklist.line"].sudo().search_fetch(
                [("activity_id", "in", leads.activity_ids.ids)], ["activity_id"]).activity_id.ids)

        for lead, old, new in moves:
            new_rules = stage_rules.get(new)
            if not new_rules:
                continue
            # pipeline policy: skipping stages, moving back, winning from some stages only
            policy = None if transfer else team_policies.get(lead.team_id.id)
            if policy and policy[2] and new_rules["is_won"] and old not in policy[2]:
                problems[lead].append(_(
                    "pipeline “%(team)s” allows winning only from %(stages)s",
                    team=lead.team_id.name, stages=", ".join(Stage.browse(policy[2]).mapped("display_name"))))
            if policy and old in stage_rules and not new_rules["is_won"]:
                allow_skip, allow_back, __ = policy
                if not allow_back and not self._is_forward(stage_rules, old, new):
                    problems[lead].append(_(
                        "pipeline “%(team)s” does not allow moving back from “%(old)s” to “%(new)s”",
                        team=lead.team_id.name, old=stage_names[old], new=stage_names[new]))
                elif not allow_skip and self._is_forward(stage_rules, old, new) \
                        and new != lead._get_next_stage_id(stage_rules):
                    problems[lead].append(_(
                        "pipeline “%(team)s” does not allow skipping stages: from “%(old)s” the next stage "
                        "is “%(next)s”", team=lead.team_id.name, old=stage_names[old],
                        next=Stage.browse(lead._get_next_stage_id(stage_rules)).display_name))
            # open mandatory items of the stage left
            if open_lines.get((lead.id, old)):
                problems[lead].append(_(
                    "cannot leave “%(stage)s” with open mandatory items: %(items)s",
                    stage=stage_names[old], items=", ".join(open_lines[lead.id, old])))
            # fields required to enter
            missing = [
                lead._fields[name]._description_string(self.env)
                for name in new_rules["required_fields"]
                if lead._is_stage_value_missing(name, vals)
            ]
            if new_rules["require_next_activity"] and not any(
                    activity.date_deadline >= today and activity.id not in checklist_activity_ids
                    for activity in lead.activity_ids):
                missing.append(_("a planned next activity"))
            if missing:
                problems[lead].append(_(
                    "cannot enter “%(stage)s” without %(fields)s",
                    stage=stage_names[new], fields=", ".join(missing)))
        return problems

    def _check_loss(self, vals):
        """The loss gate: open leads about to be lost (archived) in pipelines requiring a lost reason
        must give one, of their company, with the details it asks for. One message for the batch."""
        leads = self.filtered(lambda lead: lead.team_id.lost_reason_required)
        if not leads:
            return
        def value(lead, name):
            if name in vals:
                field = self._fields[name]
                return field.convert_to_record(field.convert_to_cache(vals[name], lead), lead)
            return lead[name]

        # completed activities are logged as messages carrying their type: one query for the batch
        reasons = self.env["crm.lost.reason"].browse()
        for lead in leads:
            reasons |= value(lead, "lost_reason_id")
        done_counts = {}
        if any(reason.required_activity_count for reason in reasons):
            for res_id, activity_type, count in self.env["mail.message"].sudo()._read_group(
                [("model", "=", "crm.lead"), ("res_id", "in", leads.ids),
                 ("mail_activity_type_id", "in", reasons.required_activity_type_id.ids)],
                ["res_id", "mail_activity_type_id"], ["__count"],
            ):
                done_counts[res_id, activity_type.id] = count

        problems = defaultdict(list)
        for lead in leads:
            reason = value(lead, "lost_reason_id")
            if not reason:
                problems[lead].append(_("pipeline “%(team)s” requires a lost reason", team=lead.team_id.name))
                continue
            if reason.company_id and lead.company_id and reason.company_id != lead.company_id:
                problems[lead].append(_(
                    "lost reason “%(reason)s” belongs to company %(company)s", reason=reason.name,
                    company=reason.company_id.name))
            if reason.requires_competitor and not value(lead, "lost_competitor_id") \
                    and not (value(lead, "lost_competitor_name") or "").strip():
                problems[lead].append(_("lost reason “%(reason)s” requires the competitor", reason=reason.name))
            if reason.requires_note and not (value(lead, "lost_note") or "").strip():
                problems[lead].append(_("lost reason “%(reason)s” requires a note", reason=reason.name))
            if reason.required_activity_count:
                done = done_counts.get((lead.id, reason.required_activity_type_id.id), 0)
                if done < reason.required_activity_count:
                    problems[lead].append(_(
                        "lost reason “%(reason)s” requires %(count)s completed “%(type)s” activities (%(done)s done)",
                        reason=reason.name, count=reason.required_activity_count,
                        type=reason.required_activity_type_id.name, done=done))
        if problems:
            raise UserError(_("These leads cannot be marked lost:") + "\n" + "\n".join(
                f"- {lead.display_name}: {line}" for lead, lines in problems.items() for line in lines))

    def _is_stage_value_missing(self, name, vals):
        """Whether field ``name`` is empty once ``vals`` are written: zero, empty and false are
        missing, and an amount must be above zero."""
        self.ensure_one()
        field = self._fields[name]
        if name in vals:
            value = field.convert_to_record(field.convert_to_cache(vals[name], self), self)
        else:
            value = self[name]
        if field.type == "monetary":
            return not value or value <= 0
        if isinstance(value, str):
            return not value.strip()
        return not value

    def _set_fixed_probability(self, moves, rules):
        """In pipelines using fixed probabilities, a lead entering a stage gets the stage's probability;
        other pipelines keep Odoo's predictive scoring untouched."""
        by_probability = defaultdict(list)
        for lead, __, new in moves:
            if new in rules["stages"] and not rules["stages"][new]["is_won"] \
                    and lead.team_id.id in rules["fixed_probability_teams"]:
                by_probability[rules["stages"][new]["fixed_probability"]].append(lead.id)
        for probability, lead_ids in by_probability.items():
            self.browse(lead_ids).write({"probability": probability})

    def _enter_stages(self, moves, rules):
        """After a move: give the leads the checklist of the stage they entered (lines they do not
        have yet; re-entering reuses them) and schedule an activity for each responsible."""
        stage_rules = rules["stages"]
        leads_by_stage = defaultdict(list)
        for lead, __, new in moves:
            if new in stage_rules and stage_rules[new]["item_ids"]:
                leads_by_stage[new].append(lead.id)
        if not leads_by_stage:
            return
        Line = self.env["crm.lead.checklist.line"].sudo()
        items = self.env["crm.stage.checklist.item"].sudo().browse(
            [item for stage in leads_by_stage for item in stage_rules[stage]["item_ids"]])
        existing = {
            (line.lead_id.id, line.item_id.id)
            for line in Line.search_fetch(
                [("lead_id", "in", self.ids), ("item_id", "in", items.ids)], ["lead_id", "item_id"])
        }
        now = self.env.cr.now()
        model_id = self.env["ir.model"]._get_id("crm.lead")
        line_vals, activity_vals = [], []
        for stage_id, lead_ids in leads_by_stage.items():
            for lead in self.browse(lead_ids):
                for item in items.filtered(lambda item, stage_id=stage_id: item.stage_id.id == stage_id):
                    if (lead.id, item.id) in existing:
                        continue
                    user = item._get_responsible(lead)
                    deadline = item._get_deadline(now)
                    line_vals.append({
                        "lead_id": lead.id, "stage_id": stage_id, "item_id": item.id,
                        "name": item.name, "description": item.description, "sequence": item.sequence,
                        "is_mandatory": item.is_mandatory, "needs_attachment": item.needs_attachment,
                        "user_id": user.id, "date_deadline": deadline,
                    })
                    activity_vals.append(item.activity_type_id and {
                        "res_model_id": model_id, "res_id": lead.id,
                        "activity_type_id": item.activity_type_id.id,
                        "summary": item.name, "note": item.description and escape(item.description),
                        "user_id": user.id, "date_deadline": deadline,
                    })
        if not line_vals:
            return
        # mail.activity.create subscribes each assignee with browse(res_ids): a lead twice in one
        # call for one user would subscribe it twice. Create in rounds holding each (lead, user) once:
        # as many calls as items one user has on one lead, whatever the number of leads.
        rounds = defaultdict(list)
        seen = defaultdict(int)
        for index, act_vals in enumerate(activity_vals):
            if act_vals:
                key = (act_vals["res_id"], act_vals["user_id"])
                rounds[seen[key]].append(index)
                seen[key] += 1
        # Odoo notifies each assignee of each activity (a message per activity): fine for the lead a rep
        # moves, not for a batch (import, mass edit) where the activities show in "My Activities".
        Activity = self.env["mail.activity"].sudo().with_context(
            mail_activity_quick_update=len(leads_by_stage) > 1 or len(self) > 1)
        for indexes in rounds.values():
            activities = Activity.create([activity_vals[index] for index in indexes])
            for index, activity in zip(indexes, activities, strict=True):
                line_vals[index]["activity_id"] = activity.id
        lines = Line.create(line_vals)
        # lines carry the item's name in every language, as the template had it when the lead entered
        lines.flush_recordset(["name", "description"])
        self.env.cr.execute("""
            UPDATE crm_lead_checklist_line line
               SET name = item.name, description = item.description
              FROM crm_stage_checklist_item item
             WHERE line.item_id = item.id AND line.id = ANY(%s)
        """, [lines.ids])
        lines.invalidate_recordset(["name", "description"])
