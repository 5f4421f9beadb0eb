from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Truncation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRUNCATION_TRUNCATE: _ClassVar[Truncation]
    TRUNCATION_ERROR: _ClassVar[Truncation]

class OffsetUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFSET_UNIT_CODE_POINT: _ClassVar[OffsetUnit]
    OFFSET_UNIT_UTF16: _ClassVar[OffsetUnit]
    OFFSET_UNIT_UTF8_BYTE: _ClassVar[OffsetUnit]

class VectorDtype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VECTOR_DTYPE_FLOAT32: _ClassVar[VectorDtype]
    VECTOR_DTYPE_FLOAT16: _ClassVar[VectorDtype]
TRUNCATION_TRUNCATE: Truncation
TRUNCATION_ERROR: Truncation
OFFSET_UNIT_CODE_POINT: OffsetUnit
OFFSET_UNIT_UTF16: OffsetUnit
OFFSET_UNIT_UTF8_BYTE: OffsetUnit
VECTOR_DTYPE_FLOAT32: VectorDtype
VECTOR_DTYPE_FLOAT16: VectorDtype

class SentimentRequest(_message.Message):
    __slots__ = ("texts", "model", "truncation")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    model: str
    truncation: Truncation
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., truncation: _Optional[_Union[Truncation, str]] = ...) -> None: ...

class NotScored(_message.Message):
    __slots__ = ("reason", "language", "confidence")
    REASON_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    language: str
    confidence: float
    def __init__(self, reason: _Optional[str] = ..., language: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class SentimentResult(_message.Message):
    __slots__ = ("label", "score", "probabilities", "not_scored")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    NOT_SCORED_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    probabilities: _containers.ScalarMap[str, float]
    not_scored: NotScored
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., not_scored: _Optional[_Union[NotScored, _Mapping]] = ...) -> None: ...

class SentimentResponse(_message.Message):
    __slots__ = ("results", "model", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SentimentResult]
    model: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[SentimentResult, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class AspectSentimentRequest(_message.Message):
    __slots__ = ("texts", "targets", "model", "truncation")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    targets: _containers.RepeatedScalarFieldContainer[str]
    model: str
    truncation: Truncation
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., targets: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., truncation: _Optional[_Union[Truncation, str]] = ...) -> None: ...

class AspectSentimentResult(_message.Message):
    __slots__ = ("mentioned", "label", "score", "probabilities", "not_scored")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MENTIONED_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    NOT_SCORED_FIELD_NUMBER: _ClassVar[int]
    mentioned: bool
    label: str
    score: float
    probabilities: _containers.ScalarMap[str, float]
    not_scored: NotScored
    def __init__(self, mentioned: _Optional[bool] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., not_scored: _Optional[_Union[NotScored, _Mapping]] = ...) -> None: ...

class AspectSentimentResponse(_message.Message):
    __slots__ = ("results", "model", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AspectSentimentResult]
    model: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[AspectSentimentResult, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class EntitiesRequest(_message.Message):
    __slots__ = ("texts", "model", "truncation", "offsets")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    model: str
    truncation: Truncation
    offsets: OffsetUnit
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., truncation: _Optional[_Union[Truncation, str]] = ..., offsets: _Optional[_Union[OffsetUnit, str]] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("text", "label", "start", "end", "score")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    text: str
    label: str
    start: int
    end: int
    score: float
    def __init__(self, text: _Optional[str] = ..., label: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...

class EntitiesResult(_message.Message):
    __slots__ = ("entities", "not_scored")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    NOT_SCORED_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    not_scored: NotScored
    def __init__(self, entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., not_scored: _Optional[_Union[NotScored, _Mapping]] = ...) -> None: ...

class EntitiesResponse(_message.Message):
    __slots__ = ("results", "model", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EntitiesResult]
    model: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[EntitiesResult, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts", "model", "truncation", "dtype", "skip_normalize")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SKIP_NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    model: str
    truncation: Truncation
    dtype: VectorDtype
    skip_normalize: bool
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., truncation: _Optional[_Union[Truncation, str]] = ..., dtype: _Optional[_Union[VectorDtype, str]] = ..., skip_normalize: _Optional[bool] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("dim", "dtype", "normalized", "vectors", "model", "model_version")
    DIM_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    dim: int
    dtype: VectorDtype
    normalized: bool
    vectors: bytes
    model: str
    model_version: str
    def __init__(self, dim: _Optional[int] = ..., dtype: _Optional[_Union[VectorDtype, str]] = ..., normalized: _Optional[bool] = ..., vectors: _Optional[bytes] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("texts", "labels", "model", "hypothesis_template", "truncation")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    HYPOTHESIS_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    model: str
    hypothesis_template: str
    truncation: Truncation
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., hypothesis_template: _Optional[str] = ..., truncation: _Optional[_Union[Truncation, str]] = ...) -> None: ...

class ClassifyResult(_message.Message):
    __slots__ = ("label", "scores")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    label: str
    scores: _containers.ScalarMap[str, float]
    def __init__(self, label: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("results", "model", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ClassifyResult]
    model: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[ClassifyResult, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class LanguageRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class LanguageResult(_message.Message):
    __slots__ = ("language", "confidence", "reliable")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    RELIABLE_FIELD_NUMBER: _ClassVar[int]
    language: str
    confidence: float
    reliable: bool
    def __init__(self, language: _Optional[str] = ..., confidence: _Optional[float] = ..., reliable: _Optional[bool] = ...) -> None: ...

class LanguageResponse(_message.Message):
    __slots__ = ("results", "model", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[LanguageResult]
    model: str
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[LanguageResult, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "task", "labels", "version", "device", "dtype", "max_length", "source", "is_default", "dim", "backend", "backend_reason", "languages", "other_languages")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_REASON_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    OTHER_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    version: str
    device: str
    dtype: str
    max_length: int
    source: str
    is_default: bool
    dim: int
    backend: str
    backend_reason: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    other_languages: str
    def __init__(self, name: _Optional[str] = ..., task: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., version: _Optional[str] = ..., device: _Optional[str] = ..., dtype: _Optional[str] = ..., max_length: _Optional[int] = ..., source: _Optional[str] = ..., is_default: _Optional[bool] = ..., dim: _Optional[int] = ..., backend: _Optional[str] = ..., backend_reason: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., other_languages: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class ReloadModelsRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelReload(_message.Message):
    __slots__ = ("name", "previous_version", "version", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    previous_version: str
    version: str
    source: str
    def __init__(self, name: _Optional[str] = ..., previous_version: _Optional[str] = ..., version: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class ReloadModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelReload]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelReload, _Mapping]]] = ...) -> None: ...
