"""The ACL Anthology reader: tiny hand-made fixtures, then the real collection files."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import zlib
from collections import Counter
from pathlib import Path

import pytest

from kg.errors import SourceError
from kg.records import AnthologyEvent, AnthologyPaper, AnthologyVolume
from kg.sources.anthology import (
    build_anthology_id,
    collection_files,
    load_name_variants,
    read_anthology,
    slugify_name,
)

FIXTURES = Path(__file__).parent / "fixtures" / "anthology"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "anthology"
for _candidate in (SHARED, Path("/work/shared/anthology")):
    if (_candidate / "xml").is_dir():
        SHARED = _candidate
        break
XML = SHARED / "xml"
NAME_VARIANTS = SHARED / "yaml" / "name_variants.yaml"
needs_data = pytest.mark.skipif(not XML.is_dir(), reason="shared/anthology/xml is not here")


def records(*paths):
    return list(read_anthology(paths))


def papers_of(recs):
    return {r.anthology_id: r for r in recs if isinstance(r, AnthologyPaper)}


def volumes_of(recs):
    return {r.anthology_id: r for r in recs if isinstance(r, AnthologyVolume)}


@pytest.fixture(scope="module")
def tiny():
    return records(FIXTURES / "2099.tiny.xml")


@pytest.fixture(scope="module")
def resolver():
    return load_name_variants(FIXTURES / "name_variants.yaml")


# --------------------------------------------------------------------------- IDs


@pytest.mark.parametrize("parts, expected", [
    (("2024.acl", "long", "641"), "2024.acl-long.641"),
    (("2024.acl", "long", None), "2024.acl-long"),
    (("2024.acl", "long", "0"), "2024.acl-long.0"),
    (("P19", "1", "1"), "P19-1001"),
    (("P19", "1", "0"), "P19-1000"),
    (("P19", "1", None), "P19-1"),
    (("W19", "1", "1"), "W19-0101"),
    (("W19", "63", "10"), "W19-6310"),
    (("W19", "1", None), "W19-01"),
    (("C69", "1", "2"), "C69-0102"),
    (("D19", "1", "1"), "D19-1001"),
    (("D19", "50", None), "D19-50"),
    (("D19", "50", "3"), "D19-5003"),
])
def test_build_anthology_id(parts, expected):
    assert build_anthology_id(*parts) == expected


# --------------------------------------------------------------------------- fixtures


def test_record_order_volume_before_its_papers_then_event(tiny):
    kinds = [(type(r).__name__, getattr(r, "anthology_id", getattr(r, "id", None))) for r in tiny]
    assert kinds == [
        ("AnthologyVolume", "2099.tiny-long"),
        *[("AnthologyPaper", f"2099.tiny-long.{n}") for n in range(1, 7)],
        ("AnthologyVolume", "2099.tiny-short"),
        ("AnthologyPaper", "2099.tiny-short.1"),
        ("AnthologyEvent", "tiny-2099"),
    ]


def test_volume_fields_and_frontmatter_is_not_a_paper(tiny):
    long = volumes_of(tiny)["2099.tiny-long"]
    assert long.collection_id == "2099.tiny" and long.volume_id == "long"
    assert long.title == "Proceedings of the First Tiny Workshop (Volume 1: Long Papers)"
    assert (long.year, long.month, long.address) == ("2099", "August", "Bangkok, Thailand")
    assert long.publisher == "Association for Computational Linguistics"
    assert long.venues == ("tiny", "ws")
    assert long.volume_type == "proceedings" and long.ingest_date == "2099-08-01"
    assert [(e.first, e.last, e.position) for e in long.editors] == [
        ("Lluís", "Màrquez", 1), ("Ada", "Lovelace", 2)]
    assert long.editors[0].affiliation == "Universitat Politècnica de Catalunya"
    assert long.url == "2099.tiny-long" and long.doi == "10.18653/v1/2099.tiny-long"
    assert long.line == 3 and long.path.endswith("2099.tiny.xml")
    fm = long.frontmatter
    assert fm is not None
    assert (fm.anthology_id, fm.url, fm.pages, fm.bibkey, fm.line) == (
        "2099.tiny-long.0", "2099.tiny-long.0", "i-x", "tiny-2099-long", 17)
    assert "2099.tiny-long.0" not in papers_of(tiny)

    short = volumes_of(tiny)["2099.tiny-short"]
    assert short.frontmatter is None and short.volume_type == "journal"
    assert (short.journal_volume, short.journal_issue) == ("2", "1")
    assert short.editors == () and short.publisher is None


def test_inline_markup_flattened_and_whitespace_collapsed(tiny):
    paper = papers_of(tiny)["2099.tiny-long.1"]
    assert paper.title == "FlexiQA: Fast and Exact O(n^2) Answers"
    assert paper.abstract == (
        r"We present FlexiQA, which runs in \times2 time. Code: https://example.org/flexiqa.")
    assert paper.line == 22
    assert paper.pages == "1-17" and paper.doi == "10.18653/v1/2099.tiny-long.1"
    assert paper.url == "2099.tiny-long.1" and not paper.url_is_external
    assert paper.awards == ("Outstanding Paper Award", "Best Theme Paper")
    assert paper.year == "2099" and paper.bibkey == "zhang-etal-2099-flexiqa"
    assert paper.volume_id == "2099.tiny-long" and paper.paper_id == "1"


def test_authors_keep_order_and_missing_or_empty_first_names(tiny):
    authors = papers_of(tiny)["2099.tiny-long.1"].authors
    assert [(a.position, a.first, a.last) for a in authors] == [
        (1, "Zhengxin", "Zhang"), (2, None, "Mausam"), (3, None, "Sukhada"), (4, "Xiaoyu", "Li")]
    assert authors[0].affiliation == "Tiny University"
    li = authors[3]
    assert li.orcid == "0000-0002-1825-0097"
    assert [(v.first, v.last, v.script) for v in li.variants] == [("晓宇", "李", "hani")]


def test_paper_with_no_authors_and_external_url(tiny):
    paper = papers_of(tiny)["2099.tiny-long.2"]
    assert paper.authors == () and paper.abstract is None
    assert paper.url_is_external and paper.url.startswith("https://")
    assert paper.language == "fra"


def test_homonyms_keep_their_id_attribute(tiny):
    authors = papers_of(tiny)["2099.tiny-long.3"].authors
    assert [a.id for a in authors] == ["bill-byrne-ucsd", "bill-byrne", None, None]


def test_retracted_and_removed(tiny):
    papers = papers_of(tiny)
    retracted = papers["2099.tiny-long.4"]
    assert retracted.retracted and not retracted.removed
    assert retracted.retracted_date == "2099-09-01"
    assert retracted.retracted_note == "The results could not be reproduced."
    removed = papers["2099.tiny-long.5"]
    assert removed.removed and not removed.retracted
    assert (removed.removed_date, removed.removed_note) == (
        "2099-10-05", "This paper has been removed due to duplication.")
    assert removed.url is None
    ordinary = papers["2099.tiny-long.1"]
    assert not ordinary.retracted and ordinary.retracted_date is None and not ordinary.removed


def test_editors_inside_a_paper_and_paper_type(tiny):
    paper = papers_of(tiny)["2099.tiny-long.6"]
    assert paper.paper_type == "backmatter"
    assert paper.authors == ()
    assert [(e.first, e.last, e.position) for e in paper.editors] == [("Ada", "Lovelace", 1)]


def test_event_lists_own_then_colocated_volumes(tiny):
    event = tiny[-1]
    assert isinstance(event, AnthologyEvent)
    assert (event.id, event.collection_id, event.line) == ("tiny-2099", "2099.tiny", 90)
    assert (event.title, event.location, event.dates) == (
        "The First Tiny Workshop", "Bangkok, Thailand", "August 11–16, 2099")
    assert event.colocated == ("2099.other-1",)
    assert event.volumes == ("2099.tiny-long", "2099.tiny-short", "2099.other-1")


def test_old_style_collections_plain_and_gzipped():
    recs = records(FIXTURES / "W99.xml.gz", FIXTURES / "P99.xml")
    # files come sorted by name whatever the order given
    assert recs[0].path.endswith("P99.xml")
    assert list(volumes_of(recs)) == ["P99-1", "W99-01", "W99-12"]
    papers = papers_of(recs)
    assert list(papers) == ["P99-1001", "P99-1042", "W99-0101", "W99-1207"]
    for paper in papers.values():
        assert paper.url == paper.anthology_id
    assert volumes_of(recs)["W99-01"].frontmatter.anthology_id == "W99-0100"
    assert papers["W99-0101"].authors[0].last == "van Schijndel"


def test_directory_reads_collections_only_sorted_by_name():
    files = collection_files(FIXTURES)
    assert [f.name for f in files] == ["2099.tiny.xml", "P99.xml", "W99.xml.gz"]
    assert len(papers_of(records(FIXTURES))) == 7 + 2 + 2


# --------------------------------------------------------------------------- broken input


def test_malformed_xml_names_file_and_line():
    with pytest.raises(SourceError) as caught:
        records(FIXTURES / "broken" / "malformed.xml")
    error = caught.value
    assert error.path.endswith("malformed.xml") and error.line == 9
    assert "mismatched tag" in error.message
    assert str(error).startswith(f"{error.path}:9: malformed XML")


def test_root_that_is_not_a_collection():
    with pytest.raises(SourceError) as caught:
        records(FIXTURES / "broken" / "not-a-collection.xml")
    assert caught.value.line == 2
    assert "<volume>" in caught.value.message and "<collection" in caught.value.message


def test_truncated_gzip_fails_after_earlier_records(tmp_path):
    data = gzip.compress((FIXTURES / "2099.tiny.xml").read_bytes())
    broken = tmp_path / "2099.tiny.xml.gz"
    broken.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(SourceError) as caught:
        records(broken)
    assert caught.value.path == str(broken)
    assert "gzip" in caught.value.message and "truncated" in caught.value.message
    # the line the readable part ends on, not the first one
    readable = zlib.decompressobj(wbits=31).decompress(broken.read_bytes())
    assert caught.value.line == readable.count(b"\n") + 1 > 10


def test_a_gzip_member_after_another_is_read_too(tmp_path):
    whole = (FIXTURES / "2099.tiny.xml").read_bytes()
    cut = whole.index(b"\n", len(whole) // 2) + 1
    joined = tmp_path / "2099.tiny.xml.gz"
    joined.write_bytes(gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]))

    def unplaced(recs):  # the records name the file they came from
        return [dataclasses.replace(r, path="") for r in recs]

    assert unplaced(records(joined)) == unplaced(records(FIXTURES / "2099.tiny.xml"))


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress((FIXTURES / "2099.tiny.xml").read_bytes()))
    data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "corrupt.xml.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(SourceError, match="gzip") as caught:
        records(broken)
    assert caught.value.line is None  # its checksum fails at the end: no line to blame


def test_errors_come_while_streaming_so_consume_fully_before_writing(tmp_path):
    shutil.copy(FIXTURES / "P99.xml", tmp_path / "P99.xml")
    shutil.copy(FIXTURES / "broken" / "malformed.xml", tmp_path / "Z99.xml")
    stream = read_anthology([tmp_path])
    assert isinstance(next(stream), AnthologyVolume)  # P99 is read before the bad file
    with pytest.raises(SourceError):
        list(stream)


def test_empty_missing_and_untitled_inputs(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="malformed XML") as caught:
        records(empty)
    assert caught.value.line == 1
    with pytest.raises(SourceError, match="no such file"):
        records(tmp_path / "missing.xml")
    untitled = tmp_path / "untitled.xml"
    untitled.write_text(
        '<collection id="2099.x"><volume id="1" type="proceedings">\n'
        "<meta><booktitle>B</booktitle><year>2099</year></meta>\n"
        '<paper id="1"><author><first>A</first><last>B</last></author></paper>\n'
        "</volume></collection>\n")
    with pytest.raises(SourceError, match="no <title>") as caught:
        records(untitled)
    assert caught.value.line == 3


def test_old_style_ids_must_be_numbers(tmp_path):
    bad = tmp_path / "P99.xml"
    bad.write_text('<collection id="P99">\n<volume id="one" type="proceedings"/></collection>')
    with pytest.raises(SourceError, match="not a number") as caught:
        records(bad)
    assert caught.value.line == 2


# --------------------------------------------------------------------------- names


def test_slugify_name_follows_the_anthology():
    assert slugify_name("Lluís", "Màrquez") == "lluis-marquez"
    # python-slugify, as upstream: a typographic apostrophe joins, a plain one separates
    assert slugify_name("Brendan", "O’Connor") == "brendan-oconnor"
    assert slugify_name("Brendan", "O'Connor") == "brendan-o-connor"
    assert slugify_name(None, "Mausam") == "mausam"
    assert slugify_name("Søren", "Ærø") == "soren-aero"
    assert slugify_name("Eşref", "Adalı") == "esref-adali"
    assert slugify_name("Marten", "van Schijndel") == "marten-van-schijndel"
    # other scripts are transliterated, with a hash of the spelling: 周国江 is not 周國江
    assert slugify_name("国江", "周").startswith("guo-jiang-zhou-")
    assert slugify_name("国江", "周") != slugify_name("國江", "周")
    assert slugify_name("Þórður", "Ðorsteinsson") == "thordur-dorsteinsson"


def test_resolver_explicit_id_tells_homonyms_apart(resolver):
    ucsd = resolver.resolve("Bill", "Byrne", "bill-byrne-ucsd")
    cambridge = resolver.resolve("Bill", "Byrne", "bill-byrne")
    assert (ucsd.id, cambridge.id) == ("bill-byrne-ucsd", "bill-byrne")
    assert ucsd.listed and not ucsd.ambiguous


def test_resolver_ambiguous_name_without_id(resolver):
    identity = resolver.resolve("Bill", "Byrne")
    assert identity.id == "bill-byrne" and identity.ambiguous
    assert resolver.ids_for("Bill", "Byrne") == ("bill-byrne", "bill-byrne-ucsd")


def test_resolver_variants_map_to_canonical(resolver):
    for first, last in [("Lluis", "Marquez"), ("Lluís", "Marquez"), ("Lluís", "Màrquez")]:
        identity = resolver.resolve(first, last)
        assert (identity.id, identity.first, identity.last) == ("lluis-marquez", "Lluís", "Màrquez")
    steve = resolver.resolve("Steve", "Abney")
    assert (steve.id, steve.first, steve.orcid) == ("steven-abney", "Steven", "0000-0001-0000-0001")
    palkar = resolver.resolve("Sukhada", "Palkar")
    assert (palkar.id, palkar.first, palkar.last) == ("sukhada", None, "Sukhada")


def test_resolver_unlisted_names_get_their_slug(resolver):
    identity = resolver.resolve("Zhengxin", "Zhang")
    assert (identity.id, identity.listed, identity.ambiguous) == ("zhengxin-zhang", False, False)
    assert resolver.resolve("", "Mausam").id == "mausam"
    # a spelling that slugs to a listed id is that person, as on the Anthology's site
    assert resolver.resolve("Ada", "Lovelace-London").id == "ada-lovelace-london"
    unknown = resolver.resolve("Someone", "Else", "someone-else-mit")
    assert (unknown.id, unknown.listed) == ("someone-else-mit", False)


def test_resolve_person_keeps_printed_orcid(tiny, resolver):
    li = papers_of(tiny)["2099.tiny-long.1"].authors[3]
    assert resolver.resolve_person(li).orcid == "0000-0002-1825-0097"


def test_malformed_name_variants(tmp_path):
    bad = tmp_path / "name_variants.yaml"
    bad.write_text("- canonical: {first: A, last: B}\n- canonical: {first: C\n  id: x\n")
    with pytest.raises(SourceError, match="malformed YAML") as caught:
        load_name_variants(bad)
    assert caught.value.line is not None
    no_last = tmp_path / "no_last.yaml"
    no_last.write_text("- canonical: {first: A}\n")
    with pytest.raises(SourceError, match="entry 1"):
        load_name_variants(no_last)


# --------------------------------------------------------------------------- real data


@needs_data
def test_2024_acl_counts_match_the_readme():
    recs = records(XML / "2024.acl.xml.gz")
    volumes = volumes_of(recs)
    papers = [r for r in recs if isinstance(r, AnthologyPaper)]
    per_volume = Counter(p.volume_id for p in papers)
    assert {v.volume_id: per_volume[k] for k, v in volumes.items()} == {
        "long": 864, "short": 77, "demos": 38, "srw": 46, "tutorials": 6}
    assert len(papers) == 1031
    assert sum(len(p.authors) for p in papers) == 5990
    assert len({(a.first or "", a.last) for p in papers for a in p.authors}) == 4480


@needs_data
def test_2024_findings_counts_match_the_readme():
    recs = records(XML / "2024.findings.xml.gz")
    papers = [r for r in recs if isinstance(r, AnthologyPaper)]
    assert Counter(p.volume_id for p in papers) == {
        "2024.findings-eacl": 158, "2024.findings-naacl": 296, "2024.findings-acl": 975}
    assert sum(len(p.authors) for p in papers) == 7657


@needs_data
def test_a_paper_read_by_hand_the_power_of_summary_source_alignments():
    paper = papers_of(records(XML / "2024.findings.xml.gz"))["2024.findings-acl.389"]
    assert paper.title == "The Power of Summary-Source Alignments"
    assert paper.line == 11235
    assert [f"{a.first} {a.last}" for a in paper.authors] == [
        "Ori Ernst", "Ori Shapira", "Aviv Slobodkin", "Sharon Adar", "Mohit Bansal",
        "Jacob Goldberger", "Ran Levy", "Ido Dagan"]
    assert [a.position for a in paper.authors] == list(range(1, 9))
    assert paper.authors[3].affiliation == "Amazon"
    assert (paper.pages, paper.doi, paper.year) == (
        "6527-6548", "10.18653/v1/2024.findings-acl.389", "2024")
    assert paper.abstract.startswith("Multi-document summarization (MDS) is a challenging task")


@needs_data
def test_first_acl_2024_long_paper():
    recs = records(XML / "2024.acl.xml.gz")
    long = volumes_of(recs)["2024.acl-long"]
    assert long.title.startswith("Proceedings of the 62nd Annual Meeting")
    assert [e.last for e in long.editors] == ["Ku", "Martins", "Srikumar"]
    assert long.frontmatter.anthology_id == "2024.acl-long.0"
    paper = papers_of(recs)["2024.acl-long.1"]
    assert paper.line == 21 and paper.awards == ("Outstanding Paper Award",)
    assert paper.title.startswith("Quantized Side Tuning")
    assert "speed up the finetuning process by up to 3\\times while" in paper.abstract
    assert [a.last for a in paper.authors][:3] == ["Zhang", "Zhao", "Miao"]
    assert papers_of(recs)["2024.acl-long.3"].title == (
        "MAGE: Machine-generated Text Detection in the Wild")


@needs_data
@pytest.mark.parametrize("name", [
    "P19.xml.gz", "W19.xml.gz", "D19.xml.gz", "C69.xml.gz", "2024.acl.xml.gz",
    "2020.acl.xml.gz", "2013.mtsummit.xml.gz",
])
def test_built_ids_equal_the_url_of_every_paper(name):
    recs = records(XML / name)
    checked = 0
    for rec in recs:
        if isinstance(rec, AnthologyPaper) and rec.url and not rec.url_is_external:
            assert rec.url == rec.anthology_id, (rec.path, rec.line)
            checked += 1
        elif isinstance(rec, AnthologyVolume):
            if rec.url and not rec.url.startswith("http"):
                assert rec.url == rec.anthology_id
            if rec.frontmatter and rec.frontmatter.url:
                assert rec.frontmatter.url == rec.frontmatter.anthology_id
    assert checked >= 50


@needs_data
def test_real_name_variants_and_homonyms():
    resolver = load_name_variants(NAME_VARIANTS)
    assert len(resolver) == 3475
    marquez = resolver.resolve("Lluis", "Marquez")
    assert (marquez.id, marquez.first, marquez.last) == ("lluis-marquez", "Lluís", "Màrquez")
    # <author id="bill-byrne"><first>William</first> in 2013.mtsummit.xml
    papers = papers_of(records(XML / "2013.mtsummit.xml.gz"))
    byrne = next(a for a in papers["2013.mtsummit-european.8"].authors if a.last == "Byrne")
    assert (byrne.first, byrne.id) == ("William", "bill-byrne")
    identity = resolver.resolve_person(byrne)
    assert (identity.id, identity.first, identity.last) == ("bill-byrne", "Bill", "Byrne")
    assert resolver.resolve("Bill", "Byrne", "bill-byrne-ucsd").id == "bill-byrne-ucsd"


@pytest.mark.slow  # reads all 1,438 collection files of the Anthology
@needs_data
def test_whole_corpus_counts():
    counts: Counter[str] = Counter()
    ids: set[str] = set()
    url_mismatches = []
    for rec in read_anthology([XML]):
        counts[type(rec).__name__] += 1
        if isinstance(rec, AnthologyVolume):
            counts["editors"] += len(rec.editors)
            counts["variants"] += sum(len(e.variants) for e in rec.editors)
            continue
        if not isinstance(rec, AnthologyPaper):
            continue
        ids.add(rec.anthology_id)
        counts["authorships"] += len(rec.authors)
        counts["editors"] += len(rec.editors)
        counts["no authors"] += not rec.authors
        counts["no first"] += sum(a.first is None for a in rec.authors)
        counts["author ids"] += sum(a.id is not None for a in rec.authors)
        counts["variants"] += sum(len(p.variants) for p in (*rec.authors, *rec.editors))
        counts["doi"] += rec.doi is not None
        counts["external url"] += rec.url_is_external
        counts["no url"] += rec.url is None
        counts["retracted"] += rec.retracted
        counts["removed"] += rec.removed
        if rec.url and not rec.url_is_external and rec.url != rec.anthology_id:
            url_mismatches.append((rec.anthology_id, rec.url))
    assert counts == {
        "AnthologyVolume": 3152, "AnthologyPaper": 104188, "AnthologyEvent": 183,
        "authorships": 367593, "editors": 9541, "no authors": 717, "no first": 117,
        "author ids": 1927, "variants": 1657, "doi": 46659, "external url": 4638,
        "no url": 575, "retracted": 10, "removed": 1,
    }
    assert len(ids) == 104188
    # the only two papers whose <url> is not their ID: data slips upstream
    assert sorted(url_mismatches) == [
        ("2010.amta-government.18", "2010.amta-government.19"),
        ("2023.acl-long.911", "2023.acl-long.report"),
    ]
