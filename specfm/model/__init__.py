"""The specfm network: torch modules only (embeddings, encoder, decoder, heads).

A Perceiver-style Transformer reads any set of tokens (flux pixels at any wavelength,
colours, known labels) into a fixed number of latents and answers any requested token
(labels, or flux at any wavelength) with a mean and a log-variance.
"""

from .attention import CrossAttentionBlock, FeedForward, MultiHeadAttention, SelfAttentionBlock
from .chunking import chunk_indices, combine_rows, predict_chunked
from .config import ModelConfig
from .coverage import config_coverage, config_sampling
from .embeddings import GrowableEmbedding, QueryEmbedding, TokenEmbedding, WavelengthEncoding
from .ensemble import EnsembleNetwork, parameter_count_text
from .growth import grow_network
from .heads import GaussianHead
from .network import Decoder, Encoder, NetworkOutput, SpecFMNetwork
from .precision import PRECISIONS, check_precision, precision_autocast
from .queries import Query, QueryBatch
from .storage import ModelFileError, load_model, read_model_config, save_model

__all__ = [
    "PRECISIONS",
    "CrossAttentionBlock",
    "Decoder",
    "Encoder",
    "EnsembleNetwork",
    "FeedForward",
    "GaussianHead",
    "GrowableEmbedding",
    "ModelConfig",
    "ModelFileError",
    "MultiHeadAttention",
    "NetworkOutput",
    "Query",
    "QueryBatch",
    "QueryEmbedding",
    "SelfAttentionBlock",
    "SpecFMNetwork",
    "TokenEmbedding",
    "WavelengthEncoding",
    "check_precision",
    "chunk_indices",
    "combine_rows",
    "config_coverage",
    "config_sampling",
    "grow_network",
    "load_model",
    "parameter_count_text",
    "precision_autocast",
    "predict_chunked",
    "read_model_config",
    "save_model",
]
