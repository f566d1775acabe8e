"""The playbooks from the product brief, as data.

The content is written out here (not imported from the app) so this migration
means the same thing forever; later edits happen in the admin. Re-running it
only adds playbooks whose key is missing, so admin edits are never overwritten.
Step tuples: (owner role, due offset in days, channel, Chinese text, English text).
"""

from django.db import migrations

PLAYBOOKS = [
    {
        "key": "segment_product",
        "segment": "product",
        "name_zh": "产品导向型客户挽留",
        "name_en": "Product-oriented customer retention",
        "description_zh": "关注收益、常比较各行理财产品的客户。",
        "description_en": "Customers who hold wealth products and compare yields between banks.",
        "steps": [
            ("rm", 0, "call",
             "致电前先查看客户持仓与周边他行在售产品（收益、优劣），然后致电了解客户对资金的打算及他行报价。",
             "Before calling, review the customer's holdings and nearby competitors' current products "
             "(yield, strengths, weaknesses); then call to learn their plans for the funds and what others offer."),
            ("rm", 3, "visit",
             "当面向客户展示我行产品与他行产品的对比表（收益率、期限、历史收益）。",
             "Meet the customer and show the side-by-side table of our products against the competitors' "
             "(yield, term, yield history)."),
            ("rm", 3, "call",
             "若客户已购他行产品，记录产品名称与到期日，系统将在到期前7天提醒并备好替代产品。",
             "If the customer has bought a competitor's product, record which one and its maturity date so we "
             "call 7 days before it matures with our replacement ready."),
            ("rm", 7, "message",
             "告知客户资产降级将影响其享受的服务与权益。",
             "Tell the customer that dropping to a lower tier would reduce the service and privileges they get."),
        ],
    },
    {
        "key": "segment_consumption",
        "segment": "consumption",
        "name_zh": "消费导向型客户挽留",
        "name_en": "Consumption-oriented customer retention",
        "description_zh": "贷款客户与信用卡消费客户。",
        "description_en": "Borrowers and card spenders.",
        "steps": [
            ("rm", 0, "call",
             "致电了解客户近期的财务计划（购房、购车、教育、经营），预判资金何时流动。",
             "Call to learn the customer's coming financial plans (home, car, education, business) and when "
             "their funds will move."),
            ("rm", 3, "visit",
             "携带信贷产品宣传资料，在客户需要资金时适时推荐我行贷款产品。",
             "Bring our credit-product leaflets and offer our loan products at the moment the plan needs money."),
            ("lobby", 0, "branch",
             "客户到店时，大堂经理将其引荐给理财经理，并备注需介绍贷款产品。",
             "When the customer visits the branch, the lobby manager hands them to the RM with a note to "
             "introduce loan products."),
            ("rm", 7, "message",
             "告知客户资产降级将影响其享受的服务与权益。",
             "Tell the customer that dropping to a lower tier would reduce the service and privileges they get."),
        ],
    },
    {
        "key": "segment_service",
        "segment": "service",
        "name_zh": "服务导向型客户挽留",
        "name_en": "Service-oriented customer retention",
        "description_zh": "对服务体验敏感的客户。",
        "description_en": "Customers sensitive to how they are treated.",
        "steps": [
            ("rm", 0, "call",
             "致电询问客户近期在我行的服务体验及最在意的事项，记入联系记录。",
             "Call to ask how we served the customer recently and what matters most to them; note it in the "
             "contact log."),
            ("lobby", 0, "branch",
             "客户下次到店时，大堂经理主动迎接，引导至贵宾/理财区，减少等候。",
             "On the customer's next visit the lobby manager greets them, seats them in the wealth area and "
             "keeps the wait short."),
            ("rm", 7, "message",
             "邀请客户参加满意度回访，并告知已跟进的改进。",
             "Invite the customer to a satisfaction follow-up and tell them what we have improved."),
        ],
    },
    {
        "key": "competitor_maturity",
        "alert_kind": "competitor_maturity",
        "name_zh": "他行产品到期前挽回",
        "name_en": "Win back before a competitor's product matures",
        "steps": [
            ("rm", 0, "branch",
             "准备好提醒中列出的我行替代产品及与他行产品的对比表。",
             "Prepare our replacement product named in the alert and the side-by-side comparison with the "
             "competitor's product."),
            ("rm", 0, "call",
             "在他行产品到期前致电客户，介绍替代产品并预约到店。",
             "Call the customer before the competitor's product matures, present the replacement and book a visit."),
            ("rm", 5, "visit",
             "到期日前后与客户见面，协助办理资金转入与购买。",
             "Meet the customer around the maturity date and help them move the funds and buy."),
        ],
    },
    {
        "key": "own_maturity",
        "alert_kind": "own_maturity",
        "name_zh": "我行产品到期续作",
        "name_en": "Roll over our maturing product",
        "steps": [
            ("rm", 0, "call",
             "致电客户商谈到期产品续作，带上当前收益率与替代产品。",
             "Call the customer about rolling over the maturing product; bring current yields and alternatives."),
            ("rm", 7, "branch",
             "在到期日前完成续作或转购手续。",
             "Complete the rollover or switch before the maturity date."),
        ],
    },
    {
        "key": "tier_downgrade",
        "alert_kind": "tier_downgrade",
        "name_zh": "资产降级预警",
        "name_en": "Tier downgrade ahead",
        "steps": [
            ("rm", 0, "call",
             "告知客户资产已接近等级门槛，降级将失去哪些服务与权益。",
             "Tell the customer their AUM is close to the tier floor and which services and privileges a "
             "downgrade would cost them."),
            ("rm", 7, "call",
             "推荐合适产品，帮助客户将资产保持在门槛之上。",
             "Offer a suitable product that keeps their AUM above the floor."),
        ],
    },
    {
        "key": "aum_drop",
        "alert_kind": "aum_drop",
        "name_zh": "资产大幅流出",
        "name_en": "Sharp AUM drop",
        "steps": [
            ("rm", 0, "call",
             "致电了解资金流出原因（他行产品、大额消费、服务不满），先倾听。",
             "Call to learn why the funds left (a competitor's product, a large purchase, dissatisfaction); "
             "listen first."),
            ("rm", 3, "visit",
             "针对原因提出方案：更优产品、贷款支持或服务改进。",
             "Offer what fits the reason: a better product, a loan, or a fix to the service."),
            ("rm", 30, "message",
             "告知客户：下月资产回到流出前水平即可参加回流抽奖活动。",
             "Tell the customer that bringing their AUM back to the pre-drop level next month enters them in "
             "the recovery prize draw."),
        ],
    },
    {
        "key": "large_withdrawal",
        "alert_kind": "large_withdrawal",
        "name_zh": "大额取现/转账拦截",
        "name_en": "Large withdrawal or transfer interception",
        "steps": [
            ("rm", 0, "message",
             "将预约名单交给大堂经理，由其通知柜员。",
             "Give the appointment to the lobby manager, who tells the tellers."),
            ("lobby", 0, "branch",
             "客户到店时引导至理财区就座，并通知理财经理。",
             "When the customer arrives, seat them in the wealth area and call the RM."),
            ("rm", 0, "branch",
             "利用客户等候时间了解资金用途，提供留存资金的方案。",
             "Use the waiting time to learn what the money is for and offer a way to keep the funds with us."),
        ],
    },
    {
        "key": "satisfaction_core",
        "alert_kind": "satisfaction_drop",
        "name_zh": "核心客户满意度回访",
        "name_en": "Core customer satisfaction callback",
        "steps": [
            ("head", 0, "call",
             "网点负责人亲自致电客户，了解满意度下降的原因。",
             "The branch head phones the customer to learn why their satisfaction fell."),
            ("rm", 3, "call",
             "落实客户提出的问题并向客户反馈处理结果。",
             "Fix what the customer raised and report back to them."),
            ("head", 14, "call",
             "再次回访，确认客户对处理结果满意。",
             "Call again to check the customer is satisfied with the fix."),
        ],
    },
    {
        "key": "satisfaction_other",
        "alert_kind": "satisfaction_drop",
        "name_zh": "客户满意度回访",
        "name_en": "Satisfaction callback",
        "steps": [
            ("rm", 0, "call",
             "致电客户了解满意度下降的原因，并记录。",
             "Call the customer to learn why their satisfaction fell and note it."),
            ("lobby", 0, "branch",
             "客户下次到店时，大堂人员给予周到接待。",
             "On the customer's next visit, lobby staff give them attentive service."),
        ],
    },
    {
        "key": "service_failure_core",
        "alert_kind": "service_failure",
        "name_zh": "核心客户服务失误致歉",
        "name_en": "Apology to a core customer after a service failure",
        "steps": [
            ("head", 0, "visit",
             "网点负责人当面或电话向客户致歉，说明改进措施。",
             "The branch head apologises to the customer in person or by phone and explains what will change."),
            ("rm", 3, "call",
             "跟进确认问题已解决。",
             "Follow up to confirm the problem is solved."),
        ],
    },
    {
        "key": "service_failure_other",
        "alert_kind": "service_failure",
        "name_zh": "服务失误后关怀",
        "name_en": "Care after a service failure",
        "steps": [
            ("lobby", 0, "branch",
             "客户下次到店时致歉，提供舒适的等候环境并由大堂人员重点关照。",
             "Apologise on the customer's next visit; offer a pleasant waiting area and attention from lobby staff."),
            ("rm", 3, "call",
             "跟进确认问题已解决。",
             "Follow up to confirm the problem is solved."),
        ],
    },
    {
        "key": "recovery_campaign",
        "alert_kind": "recovery_eligible",
        "name_zh": "资产回流抽奖",
        "name_en": "Recovery prize draw",
        # A prize draw must not silently exclude eligible customers: no control group here.
        "control_share": 0.0,
        "steps": [
            ("rm", 0, "message",
             "告知客户资产已回到流出前水平，已获得本月回流抽奖资格。",
             "Tell the customer their AUM is back to its pre-drop level and they are in this month's prize draw."),
            ("rm", 30, "call",
             "抽奖后告知结果并感谢客户。",
             "After the draw, tell the customer the result and thank them."),
        ],
    },
]


def load_playbooks(apps, schema_editor):
    Playbook = apps.get_model("retention", "Playbook")
    PlaybookStep = apps.get_model("retention", "PlaybookStep")
    for spec in PLAYBOOKS:
        if Playbook.objects.filter(key=spec["key"]).exists():
            continue
        playbook = Playbook.objects.create(
            key=spec["key"],
            segment=spec.get("segment", ""),
            alert_kind=spec.get("alert_kind", ""),
            name_zh=spec["name_zh"],
            name_en=spec["name_en"],
            description_zh=spec.get("description_zh", ""),
            description_en=spec.get("description_en", ""),
            control_share=spec.get("control_share"),
            control_salt=spec["key"],
        )
        for order, (role, offset, channel, text_zh, text_en) in enumerate(spec["steps"], start=1):
            PlaybookStep.objects.create(
                playbook=playbook, order=order, owner_role=role, due_offset_days=offset, channel=channel,
                text_zh=text_zh, text_en=text_en,
            )


def unload_playbooks(apps, schema_editor):
    Playbook = apps.get_model("retention", "Playbook")
    Playbook.objects.filter(key__in=[spec["key"] for spec in PLAYBOOKS], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]

    operations = [migrations.RunPython(load_playbooks, unload_playbooks)]
