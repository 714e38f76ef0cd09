"""The mail queue: queued at issuance when the application asked for a mailed card, sent with a checked tracking
number, delivered or returned; each step audited and told to the holder; other authorities refused."""

from __future__ import annotations

import pytest

from opcert.certificates import applications as apps
from opcert.certificates import mail
from opcert.certificates.applications_models import Delivery
from opcert.certificates.models import Certificate
from opcert.certificates.service_models import MailingStatus
from opcert.errors import NotFoundError
from tests.certificates import applications_data as data
from tests.certificates import service_data as sd


def test_a_mailed_card_is_queued_once_at_issuance_and_an_electronic_one_never(app, db) -> None:
    application, officer = sd.approved(app)
    mailing = sd.mailing_of(application)
    assert mailing is not None
    assert mailing.status is MailingStatus.QUEUED
    assert (mailing.address, mailing.recipient, mailing.phone) == (
        "上海市浦东新区世纪大道100号",
        "王小明",
        "13800001234",
    )
    assert mailing.authority_id == application.authority_id
    assert mailing.certificate_id == application.certificate_id
    apps.approve(officer=officer, application=application)  # a double click on 批准
    db.session.commit()
    assert [m.id for m in mail.mail_queue(officer)] == [mailing.id]
    assert sd.audits("certificate.mail_queued") == 1
    assert sd.notices(application.user_id, mail.MAIL_NOTICE) == [
        f"您的“{application.item.name}”实体证卡已进入邮寄队列，寄出后将告知运单号。"
    ]
    electronic, _officer = sd.approved(app, delivery=Delivery.ELECTRONIC, authority=(application.authority, officer))
    assert sd.mailing_of(electronic) is None
    assert len(mail.mail_queue(officer)) == 1


def test_the_life_of_a_mailing_queued_sent_delivered(app, db) -> None:
    application, officer = sd.approved(app)
    mailing = sd.mailing_of(application)
    with pytest.raises(mail.MailError, match="不能标记为“已签收”"):
        mail.mark_delivered(officer=officer, mailing=mailing)
    mail.mark_sent(officer=officer, mailing=mailing, courier="sf", tracking_number=" sf 1234 5678 9012 ")
    db.session.commit()
    assert (mailing.status, mailing.courier, mailing.tracking_number) == (MailingStatus.SENT, "sf", "SF123456789012")
    assert mailing.sent_at is not None
    assert mail.mail_queue(officer, MailingStatus.SENT) == [mailing]
    with pytest.raises(mail.MailError, match="不能标记为“已寄出”"):
        mail.mark_sent(officer=officer, mailing=mailing, courier="ems", tracking_number=sd.GOOD_EMS)
    mail.mark_delivered(officer=officer, mailing=mailing)
    db.session.commit()
    assert mailing.status is MailingStatus.DELIVERED
    assert mailing.closed_at is not None
    assert mail.mail_queue(officer) == []  # nothing left to do
    assert mail.mail_queue(officer, MailingStatus.DELIVERED) == [mailing]
    assert sd.audits("certificate.mail_sent") == 1
    assert sd.audits("certificate.mail_delivered") == 1
    told = sd.notices(application.user_id, mail.MAIL_NOTICE)
    assert told[1] == f"您的“{application.item.name}”实体证卡已由顺丰速运寄出，运单号SF123456789012。"
    assert "已签收" in told[2]


@pytest.mark.parametrize(
    ("courier", "number", "message"),
    [
        ("ems", "EA123456784CN", "EMS单号为13位"),  # the check digit should be 5
        ("ems", "EA12345678CN", "EMS单号为13位"),
        ("sf", "SF12345", "顺丰单号为“SF”加12至13位数字"),
        ("sf", "1234567890123", "顺丰单号"),
        ("jd", "JD12", "京东单号"),
        ("zto", "ZT1234567890", "中通单号为12至15位数字"),
        ("yto", "YT12345678901234567", "圆通单号"),
        ("ems", "", "请填写运单号"),
        ("dhl", "1234567890", "请选择快递公司"),
    ],
)
def test_a_wrong_tracking_number_is_refused_with_its_format_and_nothing_changes(
    app, db, courier: str, number: str, message: str
) -> None:
    application, officer = sd.approved(app)
    mailing = sd.mailing_of(application)
    with pytest.raises(mail.MailError, match=message):
        mail.mark_sent(officer=officer, mailing=mailing, courier=courier, tracking_number=number)
    db.session.rollback()
    assert mailing.status is MailingStatus.QUEUED
    assert mailing.tracking_number == ""
    assert sd.audits("certificate.mail_sent") == 0


@pytest.mark.parametrize(
    ("courier", "number", "stored"),
    [
        ("ems", "ea123456785cn", "EA123456785CN"),
        ("ems", "1123456789012", "1123456789012"),
        ("sf", "SF1234567890123", "SF1234567890123"),
        ("jd", "JDVA12345678901", "JDVA12345678901"),
        ("zto", "7731-2345-6789", "773123456789"),
        ("yto", "YT1234567890123", "YT1234567890123"),
    ],
)
def test_good_tracking_numbers_are_stored_normalised(app, courier: str, number: str, stored: str) -> None:
    with app.app_context():
        assert mail.normalise_tracking(courier, number) == stored


def test_a_card_returned_for_a_wrong_address(app, db) -> None:
    mailing, officer = sd.sent(app)
    with pytest.raises(mail.MailError, match="请写明退回原因"):
        mail.mark_returned(officer=officer, mailing=mailing, reason="  ")
    db.session.rollback()
    assert mailing.status is MailingStatus.SENT
    mail.mark_returned(officer=officer, mailing=mailing, reason="地址有误，查无此门牌号")
    db.session.commit()
    assert mailing.status is MailingStatus.RETURNED
    assert mailing.return_reason == "地址有误，查无此门牌号"
    with pytest.raises(mail.MailError, match="不能标记为“已签收”"):
        mail.mark_delivered(officer=officer, mailing=mailing)
    assert sd.audits("certificate.mail_returned") == 1
    last = sd.notices(mailing.user_id, mail.MAIL_NOTICE)[-1]
    assert "被退回：地址有误，查无此门牌号" in last
    assert "电子证书不受影响" in last


def test_another_authority_cannot_handle_the_mailing_and_unknown_ones_are_404(app, db) -> None:
    mailing, _officer = sd.sent(app)
    _other, stranger = data.bureau(app, name="浦东新区应急管理局（邮寄）")
    assert mail.mail_queue(stranger) == []
    with pytest.raises(mail.MailError, match="不属于您所在发证机关"):
        mail.managed_mailing(stranger, mailing.id)
    db.session.commit()
    assert sd.audits("certificate.mail_foreign") == 1
    with pytest.raises(NotFoundError):
        mail.managed_mailing(stranger, mailing.id + 1000)


def test_a_mailing_without_a_full_address_is_not_queued(app, db) -> None:
    application, _officer = sd.approved(app, delivery=Delivery.ELECTRONIC)
    with pytest.raises(mail.MailError, match="须填写完整"):
        mail.queue_mailing(
            certificate=db.session.get(Certificate, application.certificate_id),
            user_id=application.user_id,
            authority_id=application.authority_id,
            matter="reissue",
            source="reissue:1",
            address="上海市黄浦区人民大道200号",
            recipient="",
            phone="13800001234",
        )
    db.session.rollback()
    assert sd.audits("certificate.mail_queued") == 0


def test_the_holder_corrects_the_address_of_a_returned_card_and_it_is_mailed_again(app, db) -> None:
    mailing, officer = sd.sent(app)
    holder = mailing.user
    with pytest.raises(mail.MailError, match="只有被退回的证卡"):
        mail.readdress(
            holder=holder, mailing=mailing, address="上海市黄浦区人民大道200号", recipient="王小明", phone="13800001234"
        )
    mail.mark_returned(officer=officer, mailing=mailing, reason="地址有误，查无此门牌号")
    db.session.commit()
    with pytest.raises(mail.MailError, match="请填写收件人电话") as refused:
        mail.readdress(
            holder=holder, mailing=mailing, address="上海市黄浦区人民大道200号", recipient="王小明", phone=""
        )
    assert set(refused.value.reasons) == {"phone"}
    db.session.rollback()
    assert mailing.status is MailingStatus.RETURNED
    _other, stranger = data.bureau(app, name="浦东新区应急管理局（更正）")
    with pytest.raises(NotFoundError):
        mail.own_mailing(stranger, mailing.id)
    assert mail.own_mailing(holder, mailing.id) is mailing
    mail.readdress(
        holder=holder, mailing=mailing, address=" 上海市黄浦区人民大道200号 ", recipient="王小明", phone="13800001234"
    )
    db.session.commit()
    assert (mailing.status, mailing.address, mailing.tracking_number) == (
        MailingStatus.QUEUED,
        "上海市黄浦区人民大道200号",
        "",
    )
    assert mail.mail_queue(officer) == [mailing]
    mail.mark_sent(officer=officer, mailing=mailing, courier="sf", tracking_number="SF123456789012")
    db.session.commit()
    assert mailing.tracking_number == "SF123456789012"
    assert sd.audits("certificate.mail_readdressed") == 1
    assert sd.audits("certificate.mail_sent") == 2
