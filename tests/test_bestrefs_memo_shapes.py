"""Which rules get shared best-reference answers: only shapes whose answers a key determines."""

from __future__ import annotations

from crds.core import rmap

from crds_server.catalog import bestrefs_memo

TEXT = """header = {
    'derived_from' : 'test',
    'filekind' : 'CCDTAB',
    'instrument' : 'ACS',
    'mapping' : 'REFERENCE',
    'name' : 'hst_acs_ccdtab_9999.rmap',
    'observatory' : 'HST',
    'parkey' : (('DETECTOR',), ('DATE-OBS', 'TIME-OBS')),
    %s
    'sha1sum' : '%s',
}

selector = Match({
    ('WFC',) : %s({
        '1991-01-01 00:00:00' : 'lch1556bj_ccd.fits',
        '2009-05-11 00:00:00' : 'uc82140bj_ccd.fits',
    }),
})
"""


def rules(extra: str = "", selector: str = "UseAfter", checksum: str = "1" * 40):
    bestrefs_memo.forget()
    return rmap.ReferenceMapping.from_string(TEXT % (extra, checksum, selector), ignore_checksum=True)


def test_match_then_useafter_rules_get_a_key_of_match_values_and_useafter_dates():
    plan = bestrefs_memo.plan_for(rules())
    assert plan.value_keys == ("DETECTOR",) and plan.date_keys == ("DATE-OBS", "TIME-OBS")
    assert plan.dates == ("1991-01-01 00:00:00", "2009-05-11 00:00:00")


def test_other_selectors_are_left_to_the_library():
    assert bestrefs_memo.plan_for(rules(selector="ClosestTime")) is None


def test_a_relevance_rule_on_the_date_leaves_the_rules_to_the_library():
    extra = "'parkey_relevance' : {'date-obs' : '(DETECTOR == \"WFC\")'},"
    assert bestrefs_memo.plan_for(rules(extra)) is None


def test_a_relevance_name_joins_the_key_and_an_unknown_one_leaves_it_to_the_library():
    plan = bestrefs_memo.plan_for(rules("'rmap_relevance' : '(CCDAMP == \"A\")',"))
    assert plan.names == {"CCDAMP"}
    shaped = bestrefs_memo.for_header(plan, ["DETECTOR", "CCDAMP", "DATE-OBS", "TIME-OBS"])
    assert shaped.value_keys == ("CCDAMP", "DETECTOR")
    assert bestrefs_memo.for_header(plan, ["DETECTOR", "DATE-OBS", "TIME-OBS"]) is None


def test_rules_without_a_checksum_are_left_to_the_library():
    assert bestrefs_memo.plan_for(rules(checksum="")) is None


def test_same_name_other_checksum_gets_its_own_plan_and_answers():
    first = bestrefs_memo.plan_for(rules(checksum="1" * 40))
    other = rules(checksum="2" * 40)
    second = bestrefs_memo.plan_for(other)
    keys = ["DETECTOR", "DATE-OBS", "TIME-OBS"]
    assert first.token != second.token
    assert bestrefs_memo.for_header(first, keys).token != bestrefs_memo.for_header(second, keys).token
