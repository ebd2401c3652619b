"""Human and JSON renderings of a checker report."""

from __future__ import annotations

import json
from typing import Any

from asfl.checker.records import Report, Unusable


def as_json(rep: Report) -> dict[str, Any]:
    return {
        "file": rep.path,
        "valid": rep.ok,
        "lines": rep.lines,
        "events": rep.events,
        "violations": [v.as_dict() for v in rep.violations],
        "liveness": rep.liveness,
        "fairness": rep.fairness,
        "certificates": rep.certificates,
        "stats": rep.stats,
    }


def _short(raw: str, width: int = 160) -> str:
    return raw if len(raw) <= width else raw[: width - 3] + "..."


def render(rep: Report, max_violations: int = 20, verbose: bool = False) -> str:
    out = []
    verdict = "VALID" if rep.ok else f"INVALID: {len(rep.violations)} violation(s)"
    out.append(f"{rep.path}: {rep.events} events, {verdict}")
    by_prop: dict[str, int] = {}
    for v in rep.violations:
        by_prop[v.prop] = by_prop.get(v.prop, 0) + 1
    if by_prop:
        out.append("  by property: " + ", ".join(f"{k} x{n}" for k, n in sorted(by_prop.items())))
    for v in rep.violations[:max_violations]:
        out.append(f"\n[{v.prop}] {rep.path}:{v.line}: {v.message}")
        text = rep.text(v.line)
        if text is not None:
            out.append(f"    > {_short(text)}")
        if v.history:
            out.append(f"  history ({len(v.history)} earlier events):")
            for ln in v.history:
                out.append(f"    {ln:6d}: {_short(rep.text(ln) or '?')}")
    if len(rep.violations) > max_violations:
        out.append(f"\n... {len(rep.violations) - max_violations} more (use --json)")
    lv = rep.liveness
    out.append(
        f"\nliveness: {lv.get('verdict')} (end status {lv.get('status')}, "
        f"faults within bounds: {lv.get('faults_within_bounds')})"
    )
    if lv.get("behind"):
        out.append(f"  behind: {lv['behind']}")
    if lv.get("undelivered_between_correct_nodes"):
        out.append(f"  undelivered messages between correct nodes: {lv['undelivered_between_correct_nodes']}")
    fr = rep.fairness
    if fr:
        out.append(
            f"fairness: inclusions over correct clients min {fr['min_correct']}, "
            f"max {fr['max_correct']}, spread {fr['spread_correct']}"
        )
        lo, hi = fr["epsilon_correct"]
        out.append(
            f"  privacy spent by correct clients (delta={fr['delta']}, z={fr['noise_multiplier']}): "
            f"epsilon {lo:.1f}..{hi:.1f}"
        )
        if verbose:
            out.append("  inclusions: " + json.dumps(fr["inclusions"]))
        if fr["unknown_sets"]:
            out.append(f"  sets unknown (Byzantine coordinator, no ghost): {', '.join(fr['unknown_sets'])}")
    certs = rep.certificates
    full = sum(1 for c in certs if len(c.get("certified_by", [])) > 0)
    out.append(
        f"certificates rechecked: {full} certified proposals; endorsers, releases and supports cross-checked"
    )
    if verbose:
        for c in certs:
            out.append(
                f"  (tau={c['round']}, c={c['cluster']}) pd {c['pd'][:12]} I={c.get('clients')} "
                f"endorsers {c['endorsers']} certified by {c['certified_by']} "
                f"reconstructed by {c.get('reconstructed_by', [])}"
            )
    st = rep.stats
    z3s = st.get("z3")
    if z3s and z3s.get("skipped"):
        out.append(f"z3: per-trace obligations not run: {z3s['skipped']}")
    elif z3s:
        out.append(
            f"z3: {z3s['proved']}/{z3s['obligations']} per-trace obligations proved (S-6, I-1 and S-7 at "
            f"these sizes, P-1 for each revealed sum's size and decoding base) in {z3s['seconds']} s"
        )
    sg = st.get("signatures", {})
    out.append(
        f"stats: {st.get('seconds')} s; signatures {sg.get('mode')}: {sg.get('verified')} verified, "
        f"{sg.get('cache_hits')} cached, {sg.get('seconds')} s"
    )
    return "\n".join(out)


def render_unusable(path: str, e: Unusable) -> str:
    return f"{path}:{e.line}: unusable trace: {e.message}"
