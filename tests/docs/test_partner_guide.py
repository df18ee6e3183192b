"""The partner guide cannot drift from what the checks grade: its tables are compared with the feature
files, the step modules and the messages the code can produce."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pytest_bdd.feature import get_feature

from steps.link import TECHNICAL, TECHNICAL_TERMS

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "partner-guide.md").read_text(encoding="utf-8")
GRADED_FEATURES = ("integration", "webhooks")


def section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    assert match, f"no heading {heading!r} in the guide"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def table_rows(text: str) -> list[list[str]]:
    """Body rows of the first Markdown table in `text` (header and rule skipped)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def tables(text: str) -> list[list[list[str]]]:
    blocks, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(table_rows("\n".join(current)))
            current = []
    return blocks


def unquote(cell: str) -> str:
    return cell.strip().strip("`")


def features():
    for folder in GRADED_FEATURES:
        for path in sorted((ROOT / "features" / folder).glob("*.feature")):
            yield get_feature(str(path.parent), path.name)


# --- messages to the customer ---------------------------------------------------------------------


def graded_phrases() -> set[tuple[str, str, str]]:
    """(Link outcome, expected last_error.code, phrase) as the cancellation feature grades them."""
    feature = get_feature(str(ROOT / "features" / "integration"), "user_cancellation.feature")
    graded: set[tuple[str, str, str]] = set()
    for scenario in feature.scenarios.values():
        steps = [s.name for s in scenario.steps]
        codes = [m.group(1) for s in steps if (m := re.fullmatch(r'the integration shows the customer the "(.+)" message', s))]
        phrases = [m.group(1) for s in steps if (m := re.fullmatch(r'the message is friendly and tells the customer to "(.+)"', s))]
        if not codes:
            continue
        if scenario.examples:
            for examples in scenario.examples:
                for row in examples.examples:
                    values = dict(zip(examples.example_params, row))
                    graded.add((values["outcome"], values["error type"], values["next step"]))
        else:
            graded.add(("AUTH_SESSION_CANCELLED", codes[0], phrases[0]))
    return graded


def test_the_guides_phrase_table_is_what_the_cancellation_scenarios_grade():
    text = section(GUIDE, "Messages to the customer")
    documented = {(unquote(outcome).split()[0].strip("`"), unquote(code), phrase)
                  for outcome, code, phrase in tables(text)[0]}
    assert documented == graded_phrases()


def test_the_guides_forbidden_terms_are_the_steps_list():
    text = section(GUIDE, "Messages to the customer")
    documented = [(what, unquote(pattern)) for what, pattern in tables(text)[1]]
    assert documented == list(TECHNICAL_TERMS)
    for what, _ in TECHNICAL_TERMS:      # each example in the description is really caught
        example = what.split("e.g. ", 1)[1].split(" or ")[0] if "e.g. " in what else None
        assert example is None or TECHNICAL.search(example), what


# --- every scenario is named with what it grades ------------------------------------------------


def test_every_graded_scenario_is_listed_with_what_it_grades():
    text = section(GUIDE, "6.6 Every graded expectation and the scenarios that grade it")
    listed = set(re.findall(r'"([^"]+)"', " ".join(text.split())))
    titles = {scenario.name for feature in features() for scenario in feature.scenarios.values()}
    missing = sorted(titles - listed)
    assert not missing, f"scenarios the guide does not mention in §6.6: {missing}"


def test_the_fiskil_calls_the_guide_lists_are_routes_the_fake_serves():
    text = section(GUIDE, "6.1 The Fiskil calls your integration makes")
    api = (ROOT / "fakes" / "core" / "api.py").read_text(encoding="utf-8")
    calls = set(re.findall(r"`(?:GET|POST) (/v1/[a-z/-]+)", text))
    assert {"/v1/token", "/v1/end-users", "/v1/auth/session", "/v1/consent", "/v1/banking/accounts",
            "/v1/banking/balances", "/v1/banking/transactions"} <= calls
    assert all(f'"{path}"' in api for path in calls), calls


# --- the failure table quotes messages the code can produce -------------------------------------


def _skeleton(node: ast.AST) -> str | None:
    """A string literal as text; an f-string with `…` for every value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "…" for part in node.values)
    return None


def producible_texts() -> list[str]:
    texts: list[str] = []
    for path in [*ROOT.glob("steps/*.py"), *ROOT.glob("harness/**/*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        texts += [t for node in ast.walk(tree) if (t := _skeleton(node))]
    for feature in features():
        for scenario in feature.scenarios.values():
            texts += [re.sub(r"<[^>]+>", "…", f"{step.name}") for step in scenario.steps]
    return texts


def produced(fragment: str, texts: list[str]) -> bool:
    pattern = re.compile(".+".join(re.escape(piece.strip()) for piece in fragment.split("…") if piece.strip()))
    return any(pattern.search(text) for text in texts)


def test_the_failure_table_quotes_text_the_report_really_shows():
    text = section(GUIDE, "4. Read the report")
    rows = tables(text)[0]
    quoted = [q for row in rows for q in re.findall(r"`([^`]+)`", row[0])]
    examples = {m.group(1) for row in rows for m in re.finditer(r"\(e\.g\. `([^`]+)`\)", row[0])}
    texts = producible_texts()
    missing = [q for q in quoted if q not in examples and not produced(q, texts)]
    assert not missing, f"the failure table quotes text no step, check or feature produces: {missing}"
    assert len(quoted) > 30
