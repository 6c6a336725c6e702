import { ActivityMarkAsDone } from "@mail/core/web/activity_markasdone_popover";
import { patch } from "@web/core/utils/patch";

/** "No Answer" beside "Done" on a lead's planned call: the attempt is logged, the next one planned
 * (crm.lead._call_no_answer on the server), and the Lost dialog opens when the attempts reach what
 * the "no answer" lost reason asks for. */
patch(ActivityMarkAsDone.prototype, {
    get isLeadCall() {
        const { activity } = this.props;
        return activity.res_model === "crm.lead" && activity.activity_category === "phonecall";
    },

    async onClickNoAnswer() {
        const { res_id, res_model } = this.props.activity;
        const thread = this.env.services["mail.store"].Thread.insert({ model: res_model, id: res_id });
        if (this.props.close) {
            this.props.close();
        }
        const action = await this.env.services.orm.call("mail.activity", "action_call_no_answer", [
            [this.props.activity.id],
        ]);
        this.props.onActivityChanged(thread);
        await thread.fetchNewMessages();
        if (action && action.type !== "ir.actions.act_window_close") {
            await new Promise((resolve) => this.env.services.action.doAction(action, { onClose: resolve }));
            this.props.onActivityChanged(thread);
        }
    },
});
