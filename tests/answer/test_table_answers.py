"""qa.answer.tables: a question naming a row and a column gets that cell; "in which year ... largest"
gets the column's header; nothing is read from a table that the question does not name."""
from __future__ import annotations

from qa.answer.tables import best_match, grid, match_table, value
from qa.types import Cell, Document, Table

SEP = " | "


def table_doc(rows: list[list[str]], header_rows: int = 1, before: str = "Notes to the accounts.\n\n",
              doc_id: str = "report") -> Document:
    """A document whose text holds `rows` as the extractors write a table: a row a line, cells joined
    by " | ", an empty cell where it stands."""
    text, cells, r0 = before, [], len(before)
    for r, row in enumerate(rows):
        line_start = len(text)
        for c, cell in enumerate(row):
            if c:
                text += SEP
            cells.append(Cell(r, c, len(text), len(text) + len(cell), header=r < header_rows or c == 0))
            text += cell
        text += "\n"
        del line_start
    t = Table(r0, len(text) - 1, len(rows), max(map(len, rows)), tuple(cells), header_rows=header_rows, header_cols=1)
    return Document(doc_id=doc_id, source="/x/report.html", text=text + "\nA closing paragraph.\n", title="Report",
                    tables=(t,))


ALLOWANCE = [["At December 31:", "2019", "2018"],
             ["Recorded investment", "$22,446", "$31,182"],
             ["Specific allowance for credit losses", "177", "220"],
             ["Total allowance for credit losses", "221", "292"]]


def cell_text(doc, m):
    return [doc.text[c.start:c.end] for c in m.answer]


def test_a_named_row_and_year_give_the_cell():
    doc = table_doc(ALLOWANCE)
    m = match_table("What is the total allowance for credit losses in 2019?", doc, 0.6)
    assert cell_text(doc, m) == ["221"] and m.row_match == 1.0 and m.col_match == 1.0 and not m.compare
    m = match_table("What was the specific allowance for credit losses in 2018?", doc, 0.6)
    assert cell_text(doc, m) == ["220"]


def test_the_row_that_names_more_of_the_question_wins_and_an_unnamed_row_gives_nothing():
    doc = table_doc(ALLOWANCE)
    assert cell_text(doc, match_table("What was the recorded investment in 2018?", doc, 0.6)) == ["$31,182"]
    assert match_table("What was the dividend per share in 2019?", doc, 0.6) is None
    assert match_table("What was the total allowance for credit losses in 2016?", doc, 0.6) is None  # no such column
    # two years asked: a cell for each, in the order asked
    m = match_table("What was the total allowance for credit losses in 2018 and 2019?", doc, 0.6)
    assert cell_text(doc, m) == ["292", "221"]
    assert match_table("What was the total allowance for credit losses in 2019 and 2016?", doc, 0.6) is None


def test_a_spanning_header_and_a_sub_header_name_the_columns():
    rows = [["", "2019", "", "2018", ""], ["", "Men", "Women", "Men", "Women"],
            ["Member aged 65", "86.8", "88.9", "87.3", "89.3"]]
    doc = table_doc(rows, header_rows=2)
    t = doc.tables[0]
    spans = [Cell(c.row, c.col, c.start, c.end, c.header, 2 if c.row == 0 and c.col in (1, 3) else 1) for c in t.cells]
    doc = Document(**{**doc.__dict__, "tables": (Table(t.start, t.end, t.n_rows, t.n_cols, tuple(spans), 2, 1),)})
    g = grid(doc.tables[0], doc.text)
    assert g.col_years == {1: frozenset({"2019"}), 2: frozenset({"2019"}), 3: frozenset({"2018"}), 4: frozenset({"2018"})}
    assert match_table("What is the life expectancy of a member aged 65 in 2019?", doc, 0.6) is None  # men or women?


def test_in_which_year_the_row_is_largest_is_the_columns_header():
    doc = table_doc([["", "2019", "2018", "2017"], ["Net cash used in financing activities", "(709)", "(707)", "(429)"],
                     ["Revenue", "1,200", "1,350", "990"]])
    m = match_table("In which year was revenue the highest?", doc, 0.6)
    assert m.compare and cell_text(doc, m) == ["2018"] and m.row == 2
    m = match_table("In which year was the net cash used in financing activities the lowest?", doc, 0.6)
    assert cell_text(doc, m) == ["2019"]  # (709) is -709


def test_a_section_row_lends_its_words_to_the_rows_under_it():
    doc = table_doc([["", "2019", "2018"], ["Income before taxes:", "", ""], ["Domestic", "1,120", "980"],
                     ["Foreign", "340", "310"]])
    assert cell_text(doc, match_table("What was the domestic income before taxes in 2019?", doc, 0.6)) == ["1,120"]


def test_values_read_as_accountants_write_them():
    assert value("$1,496.5") == 1496.5 and value("(114)") == -114 and value("$(53)") == -53
    assert value("12.5%") == 12.5 and value("n/a") is None


def test_documents_without_tables_give_nothing_and_the_best_document_wins():
    plain = Document(doc_id="plain", source="/x/a.txt", text="Revenue was 5 in 2019.", title="A")
    doc = table_doc(ALLOWANCE)
    assert best_match("What is the total allowance for credit losses in 2019?", [plain], 0.6) is None
    assert best_match("What is the total allowance for credit losses in 2019?", [plain, doc], 0.6).doc_id == "report"


def test_a_span_across_cells_is_cut_back_to_its_first_cell():
    from qa.answer.tables import within_cell

    doc = table_doc(ALLOWANCE)
    row = doc.tables[0].row(3)
    a, b = row[1], row[2]  # "221" and "292"
    assert within_cell(doc, a.start, b.end) == (a.start, a.end)
    assert within_cell(doc, row[0].start + 6, a.end) == (row[0].start + 6, row[0].end)
    assert within_cell(doc, a.start, a.end) == (a.start, a.end)  # inside one cell: as it is
    assert within_cell(doc, 0, 5) == (0, 5)  # outside the table


def test_a_table_in_a_web_page_and_its_pdf_print_answers_with_the_row_quoted(tmp_path):
    """End to end on the committed fixtures (tests/data/formats/tables.*): extraction, the index, the
    answer, its citation of the row with the cell as the answer span, and `qa verify`."""
    import shutil

    from formats_fixtures import FIXTURES
    from support import build_fake, fake_answerer

    from qa.evaluation.verify import verify

    c = tmp_path / "c"
    c.mkdir()
    for name in ("tables.html", "tables.pdf"):
        shutil.copy(FIXTURES / name, c / name)
    build_fake(c, tmp_path / "i")
    answerer = fake_answerer(tmp_path / "i")
    for doc in ("tables", "tables-pdf"):
        a = answerer.ask("What were the total sales in 2019?", docs=[doc])
        assert a.status != "declined" and a.answer.replace(" ", "") == "$1,496.5", (doc, a.answer)
        quote = a.citations[0].quote
        assert quote.startswith("Total sales") and "1,202.9" in quote
        assert quote[a.citations[0].answer_start - a.citations[0].start:][:1] == "$"
        a = answerer.ask("In which year were total sales the highest?", docs=[doc])
        assert a.answer == "2019" and len(a.citations) == 2
        assert verify([a.to_dict()]).ok


def test_years_written_otherwise_name_their_columns():
    from qa.answer.tables import years_in

    assert years_in("What were the emissions for FY19 and FY 2018?") == ["2019", "2018"]
    assert years_in("2 0 1 8") == ["2018"] and years_in("fiscal 2019 second quarter") == ["2019"]
    doc = table_doc([["", "FY19", "FY18"], ["Total gross emissions", "87,128", "98,725"]])
    assert cell_text(doc, match_table("What is the total gross emissions for FY18?", doc, 0.6)) == ["98,725"]


def test_which_years_the_table_shows_and_which_rows_make_up_a_section():
    doc = table_doc([["", "2019", "2018"], ["Current assets", "", ""], ["Debtors", "415.9", "440.7"],
                     ["Cash and cash equivalents", "–", "0.2"], ["Total current assets", "415.9", "440.9"]])
    assert cell_text(doc, match_table("Which years does the table provide information for?", doc, 0.6)) == ["2019", "2018"]
    m = match_table("What were the components making up current assets?", doc, 0.6)
    assert cell_text(doc, m) == ["Debtors", "Cash and cash equivalents"]  # the total is not a component


def test_in_which_years_a_row_is_below_a_figure_or_negative():
    doc = table_doc([["", "2019", "2018", "2017"], ["Maintenance", "15,200", "14,800", "13,900"],
                     ["Other income (expense), net", "(1,867)", "220", "310"]])
    m = match_table("In which year was Maintenance less than 15,000?", doc, 0.6)
    assert m.compare and cell_text(doc, m) == ["2018", "2017"]
    assert cell_text(doc, match_table("In which year was Other income (expense), net negative?", doc, 0.6)) == ["2019"]
    assert cell_text(doc, match_table("Which FY has a higher maintenance?", doc, 0.6)) == ["2019"]


def test_a_computation_asked_of_a_row_is_flagged_unless_a_column_holds_it():
    doc = table_doc([["", "2019", "2018", "Change"], ["EBITDA", "79,046", "63,954", "24%"], ["Revenue", "500", "400", ""]])
    m = match_table("What was the change in revenue between 2018 and 2019?", doc, 0.6)
    assert m.computed and cell_text(doc, m) == ["400", "500"]
    m = match_table("What was the percentage change in EBITDA?", doc, 0.6)
    assert not m.computed and cell_text(doc, m) == ["24%"]


def test_which_year_is_answered_with_the_year_of_a_dated_header():
    doc = table_doc([["", "30 June 2019", "30 June 2018"], ["EBITDA", "79,046", "63,954"]])
    m = match_table("Which FY has a higher EBITDA?", doc, 0.6)
    assert cell_text(doc, m) == ["2019"]
