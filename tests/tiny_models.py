"""Tiny random Hugging Face models, built at test time in milliseconds.

They exercise the real loading and inference code without the packaged models: their
answers are meaningless but deterministic. The `tiny_models_dir` fixture builds them once
per session.
"""

from __future__ import annotations

from pathlib import Path


def _words(text: str) -> list[str]:
    return text.split()


SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Whole words, so the sentences tests use become real pieces rather than
#: letter-by-letter fallbacks. Lowercase: the tokenizer is uncased.
TINY_WORDS = _words("""
    the a an and or but not no of to in on at by for with from as is are was were be been
    it its this that these those there here he she they we you i me my our your his her their
    them us who what which when where why how all some any one two three first last new old
    do does did done have has had will would can could should may might must just very too
    so than then also only more most much many few other such same own up down out over
    about after before again into through during between under while because if
    good great best better fine nice excellent wonderful amazing brilliant fantastic superb
    perfect lovely beautiful happy fun funny charming delightful enjoyable moving clever
    bad worse worst awful terrible horrible boring dull poor weak sad ugly annoying stupid
    disappointing mess waste slow long short loud quiet
    love loved like liked enjoy enjoyed hate hated recommend want need think thought feel
    felt see saw seen watch watched make made get got go went come came say said know knew
    work works worked play played plays look looks looked give gave take took keep kept
    movie movies film films story plot acting actor actors cast director script scene scenes
    ending music performance character characters time year years day days people man woman
    world life thing things way lot place food service product price team game company
    city country government news report market week month today yesterday
    mr mrs ms dr president minister chief executive ceo
    john mary smith alice bob james david paul peter anna maria michael sarah tom
    paris london berlin tokyo york washington china france germany britain england japan
    europe america american european english french german british chinese italy italian
    spain spanish russia moscow india canada brazil australia africa
    google microsoft apple amazon reuters ibm intel sony toyota nasa un eu fifa
    united states nations kingdom union university bank inc corp ltd club league cup
    monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december
""")
SUFFIX_PIECES = _words("""
    ##s ##es ##ed ##ing ##ly ##er ##ers ##est ##ion ##tion ##ment ##ness ##ful ##less
    ##able ##al ##ic ##ist ##ism ##ity ##ive ##ous ##y ##ie ##an ##ian ##en ##on ##son ##ton
    ##ia ##land ##berg ##burg ##ville
""")
PUNCTUATION = [*".,!?;:'\"()[]-_/&%$#@*+=<>", "..."]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
DIGITS = [str(d) for d in range(10)]
#: Single characters and their ##-continuations: any ASCII word tokenizes
#: without [UNK], however rare.
TINY_VOCAB: list[str] = list(
    dict.fromkeys(
        SPECIAL_TOKENS
        + PUNCTUATION
        + DIGITS
        + LETTERS
        + TINY_WORDS
        + SUFFIX_PIECES
        + [f"##{c}" for c in LETTERS + DIGITS]
    )
)

TINY_HIDDEN = 32
TINY_MAX_POSITIONS = 128
SENTIMENT_LABELS = {0: "negative", 1: "positive"}
NER_LABELS = dict(
    enumerate(["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"])
)
#: name -> (transformers class, id2label or None, torch seed)
TINY_MODELS: dict[str, tuple[str, dict[int, str] | None, int]] = {
    "tiny-sequence": ("BertForSequenceClassification", SENTIMENT_LABELS, 1),
    "tiny-token": ("BertForTokenClassification", NER_LABELS, 2),
    "tiny-encoder": ("BertModel", None, 3),
}


def build_tiny_models(root: Path) -> dict[str, Path]:
    """Write the tiny models (weights, config, fast tokenizer) under `root`.

    Deterministic: the same transformers/torch versions write the same weights.
    """
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    vocab_dir = root / "vocab"
    vocab_dir.mkdir(parents=True)
    (vocab_dir / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    # Built from the vocab file. In transformers 5 BertTokenizerFast is an alias of
    # BertTokenizer, the tokenizers-backed class (not in its type hints); in 4.x it is
    # the fast twin of the Python BertTokenizer. Either way: offsets need is_fast.
    tokenizer = transformers.BertTokenizerFast.from_pretrained(  # type: ignore[attr-defined]
        vocab_dir, model_max_length=TINY_MAX_POSITIONS
    )
    if not tokenizer.is_fast:
        raise RuntimeError(f"{type(tokenizer).__name__} is not a fast tokenizer")

    paths: dict[str, Path] = {}
    for name, (class_name, id2label, seed) in TINY_MODELS.items():
        config = transformers.BertConfig(
            vocab_size=len(TINY_VOCAB),
            hidden_size=TINY_HIDDEN,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=TINY_MAX_POSITIONS,
        )
        if id2label is not None:
            config.id2label = dict(id2label)
            config.label2id = {label: i for i, label in id2label.items()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = getattr(transformers, class_name)(config)
        directory = root / name
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        paths[name] = directory
    return paths


#: One tiny model per task (DuckDB's register defines every function family), as a
#: `textlens serve` config to `.format(**tiny_models_dir paths)`. On the CPU on every
#: host: suites compare answers to 1e-5, which needs the same kernels (the GPU path has
#: its own tests under the `gpu` marker).
TINY_TASK_MODELS_TOML = """
[[models]]
name = "tiny-sentiment"
task = "sentiment"
source = "{sequence}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-aspect"
task = "aspect"
source = "{sequence}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-ner"
task = "ner"
source = "{token}"
device = "cpu"
max_wait_ms = 1

[[models]]
name = "tiny-embed"
task = "embed"
source = "{encoder}"
device = "cpu"
max_wait_ms = 1
"""


#: The tiny-model config: one model per task (TINY_TASK_MODELS_TOML), plus a second
#: embed model with the same size (for `embed(text, model)`) and a fine-tuned classifier.
TINY_TOML = (
    TINY_TASK_MODELS_TOML
    + """
[[models]]
name = "tiny-embed-short"
task = "embed"
source = "{encoder}"
device = "cpu"
max_length = 8
max_wait_ms = 1

[[models]]
name = "tiny-classifier"
task = "classify"
source = "{sequence}"
device = "cpu"
max_wait_ms = 1
"""
)
