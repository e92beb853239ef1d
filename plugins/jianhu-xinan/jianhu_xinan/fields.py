"""新安镇 local fields on the basic situation survey (基本情况调查表, form ``screening``).

The 2016 plan (新政发〔2016〕8号) has each village set up a social organisation (公益社) as the main
executor that keeps in touch with the families (四（二）) and visits households in the screening
(四（三）); it names caring mothers (爱心妈妈) and the 五老 among the support team (四（二）), and asks
for guardianship guidance and parenting training for guardians (四（四）). The national survey form
(民发〔2016〕42号 登记表) has no column for any of these, so the town records them as local fields.
All are optional: a village that has not paired a child yet leaves them blank.

The fields go into the group ``local`` (title 本地), so their spreadsheet columns read
「本地跟进公益社」「本地爱心妈妈编号」… (group title + field title, see :mod:`jianhu.forms.fields`).
People are named by their roster code (``jianhu people``), never by name, so the survey does not
copy personal data of volunteers.
"""

from __future__ import annotations

from typing import Any

from jianhu.extensions import FormExtension

FORM_ID = "screening"
GROUP = "local"
GROUP_TITLE = "本地"
EXTENSION_NAME = "xinan-local"

#: Roster codes are at most 40 characters (``people.code`` column of the core).
ROSTER_CODE_MAX = 40

#: The local fields, ``{name: JSON Schema}``. Source of each: 新政发〔2016〕8号 四（二）—（四）
#: (see the module docstring).
PROPERTIES: dict[str, Any] = {
    "gongyishe": {
        "type": "string",
        "title": "跟进公益社",
        "description": "跟进该家庭的村（社区）公益社或其他社会组织名称（新政发〔2016〕8号四（二）："
                       "各村（社区）公益社负责联系和服务困境儿童家庭）。",
        "minLength": 1,
        "maxLength": 100,
        "examples": ["东河村儿童关爱公益社"],
    },
    "caring_mother": {
        "type": "string",
        "title": "爱心妈妈编号",
        "description": "与儿童结对的爱心妈妈在人员名册（jianhu people）中的编号；只填编号，不填姓名。",
        "minLength": 1,
        "maxLength": ROSTER_CODE_MAX,
        "examples": ["320724100-M01"],
    },
    "caring_mother_since": {
        "type": "string",
        "format": "date",
        "title": "爱心妈妈结对日期",
        "description": "爱心妈妈与儿童开始结对帮扶的日期。",
        "examples": ["2026-09-15"],
    },
    "five_elders": {
        "type": "string",
        "title": "五老志愿者编号",
        "description": "联系该家庭的「五老」志愿者（老干部、老战士、老专家、老教师、老模范）在人员名册中的"
                       "编号；只填编号，不填姓名。",
        "minLength": 1,
        "maxLength": ROSTER_CODE_MAX,
        "examples": ["320724100-V01"],
    },
    "parent_school": {
        "type": "boolean",
        "title": "监护人参加家长学校",
        "description": "监护人（或受委托监护人）是否参加过镇、村家长学校或亲职能力培训"
                       "（新政发〔2016〕8号四（四）：家庭监护指导和亲职能力培训）。",
        "examples": ["是"],
    },
}

EXTENSION = FormExtension(
    form_id=FORM_ID,
    group=GROUP,
    group_title=GROUP_TITLE,
    name=EXTENSION_NAME,
    properties=PROPERTIES,
)


def form_fields(form_id: str) -> list[FormExtension]:
    """Return the local fields for ``form_id``.

    Args:
        form_id: the form being built.

    Returns:
        ``[EXTENSION]`` for ``"screening"``, an empty list for any other form.
    """
    return [EXTENSION] if form_id == FORM_ID else []
