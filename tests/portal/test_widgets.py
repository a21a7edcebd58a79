"""The faster text input (dsure_portal/forms/widgets.py) writes exactly what wtforms
writes, for any attribute values, so the certificate page's markup is unchanged."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st
from markupsafe import Markup
from wtforms import widgets

from dsure_portal.forms.widgets import TextInput, html_params

KEYS = st.sampled_from(["id", "name", "value", "class_", "for_", "data_hx_target",
                        "aria_describedby", "aria-invalid", "maxlength", "placeholder",
                        "required", "readonly", "autocomplete", "inputmode"])
VALUES = st.one_of(st.booleans(), st.integers(), st.text(), st.text().map(Markup))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # text()'s first draw
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_the_attributes_are_written_as_wtforms_writes_them(attributes):
    assert html_params(**attributes) == widgets.html_params(**attributes)


def test_a_contract_field_renders_as_before(app):
    from dsure_portal.forms.desk import ContractForm
    with app.test_request_context():
        form = ContractForm(formdata=None, data={"contract_amount": '1,000"<x>',
                                                 "work_name": "道路&橋"})
        field = form.contract_amount
        fast = field(**{"aria-invalid": "true"})
        plain = widgets.TextInput()(field, **{**field.render_kw, "aria-invalid": "true"})
        assert fast == plain
        assert 'value="1,000&#34;&lt;x&gt;"' in fast
        assert isinstance(form.work_name.widget, TextInput)
