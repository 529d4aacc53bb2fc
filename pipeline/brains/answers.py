"""Reading a language model's answers tolerantly: code out of fences or prose, JSON out of prose, the schema
check that sends an invalid answer back once, and a model plan out of its JSON."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import jsonschema

from pipeline.brains.base import CandidateSpec, ModelPlan

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+\-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def _defines(code: str, function: str) -> bool | None:
    """True/False whether `code` defines `function` at top level; None when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return any(isinstance(n, ast.FunctionDef) and n.name == function for n in tree.body)


def extract_code(text: str, function: str) -> str | None:
    """The Python in a model's answer that defines `function`: from a fenced block, or from prose around it.

    Code that names the function but does not parse is returned as is, so the sandbox's check can report
    the syntax error and the repair loop can fix it. Answers without the function give None.
    """
    if not text:
        return None
    text = text.replace("\r\n", "\n")
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "py", "python3")]
    for body in sorted(blocks, key=len, reverse=True):
        if _defines(body, function):
            return body.strip() + "\n"
    for body in blocks:
        if f"def {function}(" in body:
            return body.strip() + "\n"
    if _defines(text, function):
        return text.strip() + "\n"
    lines = text.split("\n")
    starts = [
        i for i, line in enumerate(lines) if re.match(r"(import |from \S+ import |def |[A-Z_][A-Z0-9_]* = )", line)
    ]
    for start in starts:
        for end in range(len(lines), start, -1):
            chunk = "\n".join(lines[start:end]).strip()
            if f"def {function}(" in chunk and _defines(chunk, function):
                return chunk + "\n"
    if f"def {function}(" in text:
        start = text.index(f"def {function}(")
        head = text[:start]
        imports = [line for line in head.split("\n") if re.match(r"(import |from \S+ import )", line)]
        return "\n".join(imports + [text[start:].strip()]) + "\n"
    return None


def extract_json(text: str) -> Any:
    """The first JSON object in `text` (fenced, bare or embedded in prose), or None."""
    if not text:
        return None
    candidates = [body for _, body in _FENCE.findall(text)] + [text]
    for cand in candidates:
        cand = cand.strip()
        try:
            return json.loads(cand)
        except ValueError:
            pass
        decoder = json.JSONDecoder()
        for match in re.finditer(r"\{", cand):
            try:
                value, _ = decoder.raw_decode(cand[match.start() :])
                if isinstance(value, dict):
                    return value
            except ValueError:
                continue
    return None


def schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    if not isinstance(value, dict):
        return "the answer is not a JSON object"
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"{exc.message}" + (f" (at {where})" if where else "")
    except jsonschema.SchemaError:
        return None
    return None


def plan_from(raw: dict[str, Any]) -> tuple[ModelPlan | None, str | None]:
    """The model's plan as a ModelPlan, or why it is not one (search spaces are checked shape by shape)."""
    candidates = []
    for item in raw["candidates"]:
        space = {}
        for key, spec in (item.get("search_space") or {}).items():
            if not spec or spec[0] not in ("int", "float", "cat"):
                return None, f'search space of {key!r} must start with "int", "float" or "cat"'
            if spec[0] == "cat" and not (len(spec) > 1 and isinstance(spec[1], list) and spec[1]):
                return None, f"categorical search space of {key!r} needs a list of choices"
            if spec[0] in ("int", "float") and not (
                len(spec) >= 3 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec[1:3])
            ):
                return None, f"numeric search space of {key!r} needs numeric low and high"
            space[str(key)] = list(spec)
        params = {
            str(k): v
            for k, v in (item.get("params") or {}).items()
            if isinstance(v, (int, float, str, bool)) or v is None
        }
        candidates.append(CandidateSpec(str(item["name"])[:60], item["family"], params, space))
    return ModelPlan(
        candidates=candidates, class_weight=raw.get("class_weight"), reasoning=str(raw.get("reasoning") or "")[:800]
    ), None
