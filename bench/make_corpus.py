"""Write a deterministic synthetic deck shaped like source/llm-interview.md (stdlib only).

    python bench/make_corpus.py --questions 10000 OUTDIR       # writes OUTDIR/corpus.md
    python bench/make_corpus.py --edit-one OUTDIR/corpus.md    # changes exactly one answer
    python bench/make_corpus.py --stats OUTDIR/corpus.md       # answer length, share of tables/code/math
    python bench/make_corpus.py --reword 1000 [--edit-answers] OUTDIR/corpus.md   # reword 1,000 questions

`## section` headings every ~50 questions; `### question` headings mixing Chinese
and English (all distinct, as are the answers); answers of ~450 characters mixing Chinese and English,
with `-`/`*`/numbered lists (often right after a text line), **bold**, `code`,
and in ~5% of answers each a table, a fenced code block, inline/display math.
The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
from pathlib import Path

SEED = 20240601
REWORD_PREFIXES = ("简述：", "面试题：")
EDIT_LINE = "修订：this answer was changed by bench/make_corpus.py --edit-one（只改这一条）。"

TERMS = """Transformer BERT GPT LLaMA ChatGLM Qwen LoRA QLoRA P-tuning RLHF PPO DPO RAG KV-cache FlashAttention
MoE RoPE ALiBi LayerNorm RMSNorm SwiGLU GQA MQA DeepSpeed ZeRO Megatron vLLM beam-search top-p temperature
tokenizer BPE SentencePiece embedding cross-entropy AdamW warmup gradient-checkpointing bf16 int8 GPTQ AWQ
speculative-decoding continuous-batching PagedAttention prompt-tuning SFT reward-model reranker Faiss Milvus
LangChain LlamaIndex chunking CoT self-consistency ReAct function-calling distillation pruning""".split()
CONCEPTS_ZH = """注意力机制 位置编码 归一化 激活函数 预训练 指令微调 对齐 推理加速 显存占用 模型量化 知识蒸馏 长文本建模
幻觉问题 检索增强 向量检索 分布式训练 数据并行 张量并行 流水线并行 梯度累积 学习率调度 损失函数 模型评测 数据清洗
指令数据构造 奖励建模 多轮对话 灾难性遗忘 上下文窗口 解码策略""".split()
CONCEPTS_EN = """long-context inference, multi-GPU training, low-latency serving, domain adaptation, evaluation,
data quality, memory efficiency, alignment, retrieval, small models""".replace("\n", " ").split(", ")
VERBS_ZH = "降低了 提升了 缓解了 改善了 放大了 稳定了 加速了 简化了".split()
GOALS_ZH = """训练稳定性 推理速度 显存开销 生成质量 收敛速度 泛化能力 长文本效果 部署成本 检索召回率 数据利用率""".split()
QUALIFIERS = ["", "", "", "（7B 模型）", "（多卡训练时）", "（for long context）", "（在线服务场景）", "（in production）",
              "（小样本情况下）", "（面试常问）", "（with 8 GPUs）", "（中文场景）"]
QUESTION_TEMPLATES = [
    "{t} 的原理是什么？", "{t} 和 {t2} 有什么区别？各自的优缺点？", "为什么 {t} 能改善{g}？",
    "如何在{c}中使用 {t}？", "What is the role of {t} in {e}?", "{c}中常见的问题有哪些？如何用 {t} 解决？",
    "How does {t} compare with {t2} for {e}?", "介绍一下 {t}，它解决了什么问题？", "{t} 在{c}里有哪些坑？",
    "Why does {t} matter for {e}?",
]
CODE_SNIPPETS = [
    ("python", ["import torch", "# scaled dot-product attention", "def attention(q, k, v):",
                "    scores = q @ k.transpose(-2, -1) / q.size(-1) ** 0.5",
                "    return torch.softmax(scores, dim=-1) @ v"]),
    ("python", ["from peft import LoraConfig, get_peft_model", "# 只训练低秩矩阵",
                "config = LoraConfig(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'])",
                "model = get_peft_model(model, config)", "model.print_trainable_parameters()"]),
    ("bash", ["# 启动多卡训练", "deepspeed --num_gpus 8 train.py \\", "  --deepspeed ds_config.json \\",
              "  --bf16 --gradient_checkpointing"]),
    ("json", ["{", '  "zero_optimization": {"stage": 3, "offload_param": {"device": "cpu"}},',
              '  "bf16": {"enabled": true},', '  "train_micro_batch_size_per_gpu": 4', "}"]),
    ("", ["prompt = system + history + question", "answer = model.generate(prompt, top_p=0.9, temperature=0.7)"]),
]
MATH_INLINE = [r"$\mathrm{softmax}(QK^T/\sqrt{d_k})V$", r"$W = W_0 + BA$", r"$\theta_i = 10000^{-2i/d}$",
               r"$L = -\sum_t \log p(x_t \mid x_{<t})$", r"$r \ll d$"]
MATH_DISPLAY = [r"\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V",
                r"\mathcal{L}_{DPO} = -\log \sigma\left(\beta \log \frac{\pi(y_w|x)}{\pi_{ref}(y_w|x)} - \beta \log \frac{\pi(y_l|x)}{\pi_{ref}(y_l|x)}\right)",
                r"\mathrm{RMSNorm}(x) = \frac{x}{\sqrt{\frac{1}{n}\sum_i x_i^2 + \epsilon}} \cdot g"]


class Writer:
    """Generates questions and answers from one seeded random stream."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)

    def term(self, style: bool = True) -> str:
        t = self.rng.choice(TERMS)
        if style:
            roll = self.rng.random()
            if roll < 0.15:
                return f"**{t}**"
            if roll < 0.25:
                return f"`{t}`"
        return t

    def sentence(self) -> str:
        r = self.rng
        kind = r.randrange(4)
        if kind == 0:
            return f"{self.term()} 通过改进{r.choice(CONCEPTS_ZH)}，{r.choice(VERBS_ZH)}{r.choice(GOALS_ZH)}。"
        if kind == 1:
            return (f"在{r.choice(CONCEPTS_ZH)}中，{self.term()} 和 {self.term()} 常被一起使用，"
                    f"核心是权衡{r.choice(GOALS_ZH)}与{r.choice(GOALS_ZH)}。")
        if kind == 2:
            return (f"{self.term()} is widely used for {r.choice(CONCEPTS_EN)} because it "
                    f"trades a little {r.choice(['accuracy', 'memory', 'latency', 'compute'])} for "
                    f"{r.choice(['throughput', 'stability', 'quality', 'simplicity'])}.")
        return f"实践中要注意 {self.term()} 的超参数，例如 `lr={r.choice(['1e-4', '2e-5', '3e-4'])}`，否则容易出现{r.choice(GOALS_ZH)}下降。"

    def text_line(self) -> str:
        parts = [self.sentence() for _ in range(self.rng.randint(1, 2))]
        return "".join(p + " " if p.endswith(".") and i < len(parts) - 1 else p for i, p in enumerate(parts))

    def bullet_list(self) -> list[str]:
        r = self.rng
        marker = r.choice(["-", "-", "*", "1."])
        items = []
        for i in range(r.randint(2, 4)):
            mark = f"{i + 1}." if marker == "1." else marker
            items.append(f"{mark} {self.term(style=False)}：{self.sentence()}")
        return items

    def table(self) -> list[str]:
        rows = ["| 方法 | 优点 | 缺点 |", "|---|---|---|"]
        for _ in range(self.rng.randint(2, 4)):
            rows.append(f"| {self.term()} | {self.rng.choice(VERBS_ZH)}{self.rng.choice(GOALS_ZH)} "
                        f"| 增加{self.rng.choice(GOALS_ZH)}的调参成本 |")
        return rows

    def code(self) -> list[str]:
        lang, lines = self.rng.choice(CODE_SNIPPETS)
        return ["```" + lang, *lines, "```"]

    def math(self) -> list[str]:
        if self.rng.random() < 0.5:
            return [f"公式是 {self.rng.choice(MATH_INLINE)}，其中 {self.term()} 决定了{self.rng.choice(GOALS_ZH)}。"]
        return ["核心公式：", "$$", self.rng.choice(MATH_DISPLAY), "$$"]

    def answer(self) -> str:
        r = self.rng
        target = r.randint(80, 560)
        lines = [self.text_line()]
        extras = [block for block, share in ((self.table, 0.05), (self.code, 0.05), (self.math, 0.05))
                  if r.random() < share]
        while sum(map(len, lines)) < target:
            roll = r.random()
            if roll < 0.45:
                lines += self.bullet_list()  # a list right after a text line
            elif roll < 0.85:
                lines.append(self.text_line())
            else:
                lines += ["", self.text_line()]
        for block in extras:
            lines += ([""] if r.random() < 0.5 else []) + block()
        if r.random() < 0.3:
            lines.append(self.text_line())
        return "\n".join(lines)

    def question(self, seen: set[str]) -> str:
        r = self.rng
        for attempt in range(8):
            text = r.choice(QUESTION_TEMPLATES).format(
                t=self.term(style=r.random() < 0.3), t2=self.term(style=False), c=r.choice(CONCEPTS_ZH),
                e=r.choice(CONCEPTS_EN), g=r.choice(GOALS_ZH)) + r.choice(QUALIFIERS)
            if attempt == 7:
                text += f"（变体 {len(seen) + 1}）"
            key = " ".join(text.casefold().split())
            if key not in seen:
                seen.add(key)
                return text
        raise AssertionError("unreachable")


def make_corpus(questions: int, seed: int = SEED) -> str:
    """The whole deck's Markdown for `questions` questions."""
    w = Writer(seed)
    out = ["# Synthetic LLM interview deck", "", "## 参考资料",
           "Generated by bench/make_corpus.py; shaped like source/llm-interview.md.",
           "https://github.com/km1994/LLMs_interview_notes", ""]
    seen: set[str] = set()
    answers: set[str] = set()
    next_section, section = 0, 0
    for i in range(questions):
        if i == next_section:
            section += 1
            out += [f"## 第 {section} 部分：{w.rng.choice(CONCEPTS_ZH)} & {w.rng.choice(TERMS)}", ""]
            next_section = i + w.rng.randint(40, 60)
        question, answer = w.question(seen), w.answer()
        while answer in answers:  # deckgen warns about two questions with the same answer
            answer = w.answer()
        answers.add(answer)
        out += [f"### {question}", answer, ""]
    return "\n".join(out)


def split_answers(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs: the same naive `###` split the reference scripts use."""
    pairs, question, body = [], None, []
    for line in text.split("\n"):
        if line.startswith("### ") or line.startswith("## "):
            if question is not None:
                pairs.append((question, "\n".join(body).strip()))
            question = line[4:].strip() if line.startswith("### ") else None
            body = []
        else:
            body.append(line)
    if question is not None:
        pairs.append((question, "\n".join(body).strip()))
    return pairs


def question_lines(lines: list[str]) -> list[int]:
    """Indices of the `###` question lines, fenced code left out."""
    headings, fence = [], None
    for n, line in enumerate(lines):
        mark = re.match(r"\s*(`{3,}|~{3,})", line)
        if mark and (fence is None or mark.group(1)[0] == fence):
            fence = None if fence else mark.group(1)[0]
        elif fence is None and line.startswith("### "):
            headings.append(n)
    return headings


def edit_one(path: Path, index: int | None = None) -> str:
    """Change exactly one answer (by default the middle question's) in place; return its question."""
    lines = path.read_text(encoding="utf-8").split("\n")
    headings = question_lines(lines)
    at = headings[len(headings) // 2 if index is None else index]
    lines[at + 1:at + 1] = [EDIT_LINE, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return lines[at][4:]


def reword(path: Path, count: int, edit_answers: bool, reword_questions: bool = True) -> int:
    """Reword `count` questions in place, spread over the deck (each gets a prefix), and with
    `edit_answers` change a word in each of their answers too (or, `reword_questions` False,
    only that); return how many were changed."""
    lines = path.read_text(encoding="utf-8").split("\n")
    headings = question_lines(lines)
    step = max(1, len(headings) // count)
    chosen = headings[::step][:count]
    prefix = REWORD_PREFIXES[1 if edit_answers else 0]
    for at in chosen:
        if reword_questions:
            lines[at] = "### " + prefix + lines[at][4:]
        if edit_answers:
            first = at + 1
            lines[first] = lines[first][:10] + "（改）" + lines[first][10:]  # a word more in the first line
    path.write_text("\n".join(lines), encoding="utf-8")
    return len(chosen)


def stats(text: str) -> dict:
    answers = [a for _, a in split_answers(text)]
    share = lambda pattern: sum(bool(re.search(pattern, a, re.M)) for a in answers) / len(answers)
    lengths = [len(a) for a in answers]
    return {
        "questions": len(answers),
        "distinct questions": len({" ".join(q.casefold().split()) for q, _ in split_answers(text)}),
        "distinct answers": len(set(answers)),
        "sections": len(re.findall(r"^## ", text, re.M)),
        "answer chars mean": round(statistics.mean(lengths)),
        "answer chars median": statistics.median(lengths),
        "answer chars min/max": (min(lengths), max(lengths)),
        "table share": round(share(r"^\|---"), 3),
        "code share": round(share(r"^```"), 3),
        "math share": round(share(r"\$"), 3),
        "list-after-text share": round(share(r"^[^\s\-*\d|`$].*\n(?:[-*]|\d+\.) "), 3),
        "bold share": round(share(r"\*\*\S"), 3),
        "file MiB": round(len(text.encode()) / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path, help="output folder (or, with --edit-one/--stats, a .md file)")
    parser.add_argument("--questions", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--name", default="corpus", help="deck file name without .md (default: corpus)")
    parser.add_argument("--edit-one", action="store_true", help="change one answer of the .md file TARGET")
    parser.add_argument("--index", type=int, help="with --edit-one: which question (0-based; default: middle)")
    parser.add_argument("--stats", action="store_true", help="print the shape of TARGET (a .md file, or what was written)")
    parser.add_argument("--reword", type=int, metavar="N", help="reword N questions of the .md file TARGET")
    parser.add_argument("--edit-answers", action="store_true", help="with --reword: change a word of each answer too")
    parser.add_argument("--edit", type=int, metavar="N", help="change a word of N answers of the .md file TARGET")
    args = parser.parse_args()
    if args.edit_one:
        print("edited the answer of:", edit_one(args.target, args.index))
        return
    if args.reword:
        print("reworded", reword(args.target, args.reword, args.edit_answers), "questions")
        return
    if args.edit:
        print("edited", reword(args.target, args.edit, True, reword_questions=False), "answers")
        return
    if args.stats and args.target.suffix == ".md":
        path = args.target
    else:
        args.target.mkdir(parents=True, exist_ok=True)
        path = args.target / f"{args.name}.md"
        path.write_text(make_corpus(args.questions, args.seed), encoding="utf-8")
        print(f"wrote {path}")
    if args.stats:
        for key, value in stats(path.read_text(encoding="utf-8")).items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
