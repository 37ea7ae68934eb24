# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""AI and LLM platform API keys."""

from __future__ import annotations

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import B, E
from cnsec.model.severity import Severity as S

DETECTORS = (
    Detector(
        id="openai-api-key", title="OpenAI API key", severity=S.HIGH, keywords=("t3blbkfj",),
        pattern=B + r"(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,})",
        reveal=3, examples=("OPENAI_API_KEY=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",)),
    Detector(
        id="anthropic-api-key", title="Anthropic API key", severity=S.HIGH, keywords=("sk-ant-",),
        pattern=B + r"(?P<secret>sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{80,100}AA)" + E, reveal=7,
        examples=("sk-ant-api03-gigCtxD_mMUnJuUOwVtpBmPFdG0-ybrcBb1EcgpJblpcwh7tpFu-DIChOfbCnT7NgKcobiQ5aQA1oxlu3a"
                  "J-HgvQWv2Tw-AA",)),
    Detector(
        id="huggingface-token", title="Hugging Face access token", severity=S.HIGH, keywords=("hf_",),
        pattern=B + r"(?P<secret>hf_[A-Za-z]{34})" + E, reveal=3,
        examples=("HF_TOKEN=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",)),
    Detector(
        id="groq-api-key", title="Groq API key", severity=S.HIGH, keywords=("gsk_",),
        pattern=B + r"(?P<secret>gsk_[A-Za-z0-9]{52})" + E, reveal=4,
        examples=("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",)),
    Detector(
        id="perplexity-api-key", title="Perplexity API key", severity=S.HIGH, keywords=("pplx-",),
        pattern=B + r"(?P<secret>pplx-[A-Za-z0-9]{48})" + E, reveal=5,
        examples=("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",)),
    Detector(
        id="xai-api-key", title="xAI API key", severity=S.HIGH, keywords=("xai-",),
        pattern=B + r"(?P<secret>xai-[A-Za-z0-9]{80})" + E, reveal=4,
        examples=("xai-wjluCw1zixzDiYOxeeGtIwuHjIyax8SukK2lFWtBRn1yfEPMQzv63sMCd1nzqylpuDXQjEGd19OJi3cL",)),
    Detector(
        id="together-api-key", title="Together AI API key", severity=S.HIGH, keywords=("tgp_v1_",),
        pattern=B + r"(?P<secret>tgp_v1_[A-Za-z0-9_\-]{43})", reveal=7,
        examples=("tgp_v1_LRvIfXDN2VjuqCi5zcGzrM3oIwIOhhIZd9H8JmE2CpR",)),
    Detector(
        id="llamacloud-api-key", title="LlamaCloud API key", severity=S.HIGH, keywords=("llx-",),
        pattern=B + r"(?P<secret>llx-[A-Za-z0-9_\-]{48})", reveal=4,
        examples=("llx-gOpoyW2vlgfBcYEYlSu8x3Tk3lrtW1AWJU8nXQ6XOCZah4h1",)),
    Detector(
        id="tavily-api-key", title="Tavily API key", severity=S.MEDIUM, keywords=("tvly-",),
        pattern=B + r"(?P<secret>tvly-(?:dev-)?[A-Za-z0-9]{32})" + E, reveal=5,
        examples=("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",)),
    Detector(
        id="deepseek-api-key", title="DeepSeek API key", severity=S.HIGH, keywords=(),
        anchor=r"sk-[a-f0-9]{32}",
        pattern=r"(?<![A-Za-z0-9_\-])(?P<secret>sk-[a-f0-9]{32})" + E, min_entropy=3.2, reveal=3,
        examples=("DEEPSEEK_API_KEY=sk-615ef152bf865a131f88b23571dc4ee6",)),
)
