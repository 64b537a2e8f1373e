// Meaning, not bytes: attention and MLP computed from each rank's slices and
// combined as tensor parallelism does (concatenate column outputs, sum row
// partials, add the row bias once) equal the unsharded computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "hubload/plan.h"
#include "support/tp_models.h"

namespace hubload {
namespace {

using Mat = std::vector<float>;  // row-major

Mat floats(const std::byte* p, std::size_t bytes) {
  Mat m(bytes / 4);
  std::memcpy(m.data(), p, bytes);
  return m;
}

// x [T, in] · W^T with W stored [out, in] (Linear).
Mat linear(const Mat& x, std::size_t T, const Mat& w, std::size_t out, std::size_t in) {
  Mat y(T * out, 0.f);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t o = 0; o < out; ++o) {
      double s = 0;
      for (std::size_t i = 0; i < in; ++i) s += static_cast<double>(x[t * in + i]) * w[o * in + i];
      y[t * out + o] = static_cast<float>(s);
    }
  return y;
}

// x [T, in] · W with W stored [in, out] (GPT-2 Conv1D), plus bias when given.
Mat conv1d(const Mat& x, std::size_t T, const Mat& w, std::size_t in, std::size_t out, const Mat* bias) {
  Mat y(T * out, 0.f);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t o = 0; o < out; ++o) {
      double s = bias ? (*bias)[o] : 0.0;
      for (std::size_t i = 0; i < in; ++i) s += static_cast<double>(x[t * in + i]) * w[i * out + o];
      y[t * out + o] = static_cast<float>(s);
    }
  return y;
}

// Causal grouped-query attention: q [T, hq·D], k and v [T, hkv·D] (column block
// offsets given for fused inputs). Returns [T, hq·D].
Mat attention(const Mat& q, std::size_t q_stride, std::size_t q_off, const Mat& k, std::size_t k_stride,
              std::size_t k_off, const Mat& v, std::size_t v_stride, std::size_t v_off, std::size_t T,
              std::size_t hq, std::size_t hkv, std::size_t D) {
  Mat out(T * hq * D, 0.f);
  for (std::size_t h = 0; h < hq; ++h) {
    std::size_t g = h / (hq / hkv);
    for (std::size_t t = 0; t < T; ++t) {
      std::vector<double> p(t + 1);
      double mx = -1e300, sum = 0;
      for (std::size_t s = 0; s <= t; ++s) {
        double dot = 0;
        for (std::size_t d = 0; d < D; ++d)
          dot += static_cast<double>(q[t * q_stride + q_off + h * D + d]) * k[s * k_stride + k_off + g * D + d];
        p[s] = dot / std::sqrt(static_cast<double>(D));
        mx = std::max(mx, p[s]);
      }
      for (double& x : p) sum += (x = std::exp(x - mx));
      for (std::size_t d = 0; d < D; ++d) {
        double acc = 0;
        for (std::size_t s = 0; s <= t; ++s) acc += p[s] / sum * v[s * v_stride + v_off + g * D + d];
        out[t * hq * D + h * D + d] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

void expect_close(const Mat& got, const Mat& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(got[i] - want[i]), 1e-5 * std::max(1.0f, std::fabs(want[i]))) << what << " at " << i;
}

void add_into(Mat& acc, const Mat& part) {
  if (acc.empty()) acc.assign(part.size(), 0.f);
  for (std::size_t i = 0; i < part.size(); ++i) acc[i] += part[i];
}

struct Sharded {
  testing::TinyCheckpoint ck;
  ShardPlan plan;
  std::vector<std::map<std::string, Mat>> ranks;
  Mat full(const std::string& name) const {
    for (const auto& t : ck.tensors)
      if (t.info.name == name) return floats(ck.file.data() + t.info.offset, t.info.size);
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
};

// Plans `s.ck` for `w` ranks and reads each rank's tensors (as floats) through its byte runs.
void plan_ranks(Sharded& s, const ModelConfig& config, int w) {
  PlanOptions o;
  o.world_size = w;
  Result<ShardPlan> plan = plan_tensor_parallel(config, s.ck.tensors, o);
  EXPECT_TRUE(plan.has_value()) << plan.error().to_string();
  s.plan = *plan;
  for (int r = 0; r < w; ++r) {
    RankPlan rp = *rank_plan(s.plan, r);
    auto bytes = testing::apply_rank_plan(rp, s.ck.file);
    s.ranks.emplace_back();
    for (std::size_t i = 0; i < rp.tensors.size(); ++i)
      s.ranks.back()[rp.tensors[i].name] = floats(bytes[i].data(), bytes[i].size());
  }
}

Sharded shard(const std::string& family, int w) {
  testing::TinyDims dims;
  ModelConfig config = testing::tiny_config(family, dims);
  Sharded s;
  s.ck = testing::make_checkpoint(testing::tiny_specs(config, dims), DType::F32, 7);
  plan_ranks(s, config, w);
  return s;
}

Mat input(std::size_t T, std::size_t H) {
  Mat x(T * H);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i) + 0.1f);
  return x;
}

// A tiny DeepSeek-V3 (F32): 4 heads whose q/k are nope 4 + rope 4 and v 8 wide (so one
// attention routine serves), latent ranks 16, 4 experts of 16 plus one shared.
Sharded shard_deepseek(int w) {
  auto config = parse_model_config(R"({"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "hidden_size": 32, "intermediate_size": 32, "moe_intermediate_size": 16, "num_hidden_layers": 2,
    "num_attention_heads": 4, "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
    "first_k_dense_replace": 1, "kv_lora_rank": 16, "q_lora_rank": 16, "qk_nope_head_dim": 4,
    "qk_rope_head_dim": 4, "v_head_dim": 8, "vocab_size": 64, "tie_word_embeddings": false})",
                                   "tiny-deepseek.json");
  EXPECT_TRUE(config.has_value());
  Sharded s;
  s.ck = testing::make_checkpoint(testing::deepseek_specs(*config, false), DType::F32, 11);
  plan_ranks(s, *config, w);
  return s;
}

// MLA for `heads` heads from their q_b / kv_b rows and o_proj columns; the latent
// projections are whole on every rank. Returns the o_proj output (a partial sum when sharded).
Mat mla(const Mat& x, std::size_t T, const Mat& q_a, const Mat& q_b, const Mat& kv_a, const Mat& kv_b, const Mat& o,
        std::size_t heads) {
  const std::size_t H = 32, QL = 16, KL = 16, NOPE = 4, ROPE = 4, V = 8, D = NOPE + ROPE;
  Mat q = linear(linear(x, T, q_a, QL, H), T, q_b, heads * D, QL);
  Mat latent = linear(x, T, kv_a, KL + ROPE, H);
  Mat c(T * KL);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < KL; ++i) c[t * KL + i] = latent[t * (KL + ROPE) + i];
  Mat kv = linear(c, T, kv_b, heads * (NOPE + V), KL);
  // Per head: k = [k_nope | the shared rope key], v its own.
  Mat k(T * heads * D), v(T * heads * V);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t h = 0; h < heads; ++h) {
      for (std::size_t i = 0; i < NOPE; ++i) k[t * heads * D + h * D + i] = kv[t * heads * (NOPE + V) + h * (NOPE + V) + i];
      for (std::size_t i = 0; i < ROPE; ++i) k[t * heads * D + h * D + NOPE + i] = latent[t * (KL + ROPE) + KL + i];
      for (std::size_t i = 0; i < V; ++i) v[t * heads * V + h * V + i] = kv[t * heads * (NOPE + V) + h * (NOPE + V) + NOPE + i];
    }
  Mat a = attention(q, heads * D, 0, k, heads * D, 0, v, heads * V, 0, T, heads, heads, D);
  return linear(a, T, o, H, heads * V);
}

Mat swiglu(const Mat& x, std::size_t T, const Mat& gate, const Mat& up, const Mat& down, std::size_t width) {
  const std::size_t H = 32;
  Mat g = linear(x, T, gate, width, H);
  Mat u = linear(x, T, up, width, H);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  return linear(g, T, down, H, width);
}

// Softmax over the (replicated) router's logits: every expert weighted, so that every
// expert's slices take part.
Mat router_weights(const Mat& x, std::size_t T, const Mat& gate, std::size_t experts) {
  Mat logits = linear(x, T, gate, experts, 32);
  for (std::size_t t = 0; t < T; ++t) {
    double sum = 0;
    for (std::size_t e = 0; e < experts; ++e) sum += std::exp(logits[t * experts + e]);
    for (std::size_t e = 0; e < experts; ++e) logits[t * experts + e] = static_cast<float>(std::exp(logits[t * experts + e]) / sum);
  }
  return logits;
}

Mat moe(const Mat& x, std::size_t T, std::map<std::string, Mat>& m, const std::string& l, std::size_t width,
        std::size_t shared_width) {
  const std::size_t E = 4, H = 32;
  Mat weights = router_weights(x, T, m[l + "mlp.gate.weight"], E);
  Mat out = swiglu(x, T, m[l + "mlp.shared_experts.gate_proj.weight"], m[l + "mlp.shared_experts.up_proj.weight"],
                   m[l + "mlp.shared_experts.down_proj.weight"], shared_width);
  for (std::size_t e = 0; e < E; ++e) {
    const std::string p = l + "mlp.experts." + std::to_string(e) + ".";
    Mat y = swiglu(x, T, m[p + "gate_proj.weight"], m[p + "up_proj.weight"], m[p + "down_proj.weight"], width);
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t i = 0; i < H; ++i) out[t * H + i] += weights[t * E + e] * y[t * H + i];
  }
  return out;
}

class Numeric : public ::testing::TestWithParam<int> {};

class NumericDeepSeek : public ::testing::TestWithParam<int> {};

TEST_P(NumericDeepSeek, MlaAndMoeLayerMatchUnsharded) {
  const int w = GetParam();
  const std::size_t T = 3, H = 32, Hn = 4;
  Sharded s = shard_deepseek(w);
  const std::string l = "model.layers.1.";  // the MoE layer
  std::map<std::string, Mat> full;
  for (const auto& t : s.ck.tensors) full[t.info.name] = s.full(t.info.name);
  Mat x = input(T, H);
  auto a = [&](std::map<std::string, Mat>& m, std::size_t heads) {
    return mla(x, T, m[l + "self_attn.q_a_proj.weight"], m[l + "self_attn.q_b_proj.weight"],
               m[l + "self_attn.kv_a_proj_with_mqa.weight"], m[l + "self_attn.kv_b_proj.weight"],
               m[l + "self_attn.o_proj.weight"], heads);
  };
  Mat want_attn = a(full, Hn);
  Mat want_moe = moe(x, T, full, l, 16, 16);
  Mat got_attn, got_moe;
  for (int r = 0; r < w; ++r) {
    auto& m = s.ranks[static_cast<std::size_t>(r)];
    add_into(got_attn, a(m, Hn / static_cast<std::size_t>(w)));
    add_into(got_moe, moe(x, T, m, l, 16 / static_cast<std::size_t>(w), 16 / static_cast<std::size_t>(w)));
  }
  // The router is replicated, so every rank weights its expert partials alike.
  expect_close(got_attn, want_attn, "deepseek MLA");
  expect_close(got_moe, want_moe, "deepseek MoE");
}

INSTANTIATE_TEST_SUITE_P(TpSizes, NumericDeepSeek, ::testing::Values(1, 2, 4));

TEST_P(Numeric, LlamaAttentionAndMlpMatchUnsharded) {
  const int w = GetParam();
  const std::size_t T = 3, H = 32, Hq = 8, Hkv = 2, D = 4, I = 64;
  Sharded s = shard("llama", w);
  const std::string l = "model.layers.1.";
  Mat x = input(T, H);

  Mat q = linear(x, T, s.full(l + "self_attn.q_proj.weight"), Hq * D, H);
  Mat k = linear(x, T, s.full(l + "self_attn.k_proj.weight"), Hkv * D, H);
  Mat v = linear(x, T, s.full(l + "self_attn.v_proj.weight"), Hkv * D, H);
  Mat a = attention(q, Hq * D, 0, k, Hkv * D, 0, v, Hkv * D, 0, T, Hq, Hkv, D);
  Mat want_attn = linear(a, T, s.full(l + "self_attn.o_proj.weight"), H, Hq * D);
  Mat g = linear(x, T, s.full(l + "mlp.gate_proj.weight"), I, H);
  Mat u = linear(x, T, s.full(l + "mlp.up_proj.weight"), I, H);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  Mat want_mlp = linear(g, T, s.full(l + "mlp.down_proj.weight"), H, I);

  Mat got_attn, got_mlp;
  for (int r = 0; r < w; ++r) {
    auto& m = s.ranks[static_cast<std::size_t>(r)];
    const std::size_t hq = Hq / static_cast<std::size_t>(w);
    const std::size_t hkv = m[l + "self_attn.k_proj.weight"].size() / (D * H);  // replicated when W > Hkv
    Mat qr = linear(x, T, m[l + "self_attn.q_proj.weight"], hq * D, H);
    Mat kr = linear(x, T, m[l + "self_attn.k_proj.weight"], hkv * D, H);
    Mat vr = linear(x, T, m[l + "self_attn.v_proj.weight"], hkv * D, H);
    Mat ar = attention(qr, hq * D, 0, kr, hkv * D, 0, vr, hkv * D, 0, T, hq, hkv, D);
    add_into(got_attn, linear(ar, T, m[l + "self_attn.o_proj.weight"], H, hq * D));
    const std::size_t ir = I / static_cast<std::size_t>(w);
    Mat gr = linear(x, T, m[l + "mlp.gate_proj.weight"], ir, H);
    Mat ur = linear(x, T, m[l + "mlp.up_proj.weight"], ir, H);
    for (std::size_t i = 0; i < gr.size(); ++i) gr[i] = gr[i] / (1.f + std::exp(-gr[i])) * ur[i];
    add_into(got_mlp, linear(gr, T, m[l + "mlp.down_proj.weight"], H, ir));
  }
  expect_close(got_attn, want_attn, "llama attention");
  expect_close(got_mlp, want_mlp, "llama mlp");
}

TEST_P(Numeric, Gpt2AttentionAndMlpMatchUnsharded) {
  const int w = GetParam();
  const std::size_t T = 3, H = 32, Hq = 8, D = 4, I = 4 * H;
  Sharded s = shard("gpt2", w);
  const std::string l = "h.0.";
  Mat x = input(T, H);
  auto gelu = [](float v) { return 0.5f * v * (1.f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v))); };

  Mat c_attn_b = s.full(l + "attn.c_attn.bias"), c_proj_b = s.full(l + "attn.c_proj.bias");
  Mat qkv = conv1d(x, T, s.full(l + "attn.c_attn.weight"), H, 3 * H, &c_attn_b);
  Mat a = attention(qkv, 3 * H, 0, qkv, 3 * H, H, qkv, 3 * H, 2 * H, T, Hq, Hq, D);
  Mat want_attn = conv1d(a, T, s.full(l + "attn.c_proj.weight"), H, H, &c_proj_b);
  Mat fc_b = s.full(l + "mlp.c_fc.bias"), proj_b = s.full(l + "mlp.c_proj.bias");
  Mat h = conv1d(x, T, s.full(l + "mlp.c_fc.weight"), H, I, &fc_b);
  for (float& e : h) e = gelu(e);
  Mat want_mlp = conv1d(h, T, s.full(l + "mlp.c_proj.weight"), I, H, &proj_b);

  Mat got_attn, got_mlp;
  for (int r = 0; r < w; ++r) {
    auto& m = s.ranks[static_cast<std::size_t>(r)];
    const std::size_t hr = H / static_cast<std::size_t>(w), hq = Hq / static_cast<std::size_t>(w);
    Mat qkv_r = conv1d(x, T, m[l + "attn.c_attn.weight"], H, 3 * hr, &m[l + "attn.c_attn.bias"]);
    Mat ar = attention(qkv_r, 3 * hr, 0, qkv_r, 3 * hr, hr, qkv_r, 3 * hr, 2 * hr, T, hq, hq, D);
    add_into(got_attn, conv1d(ar, T, m[l + "attn.c_proj.weight"], hr, H, nullptr));
    const std::size_t ir = I / static_cast<std::size_t>(w);
    Mat hr_ = conv1d(x, T, m[l + "mlp.c_fc.weight"], H, ir, &m[l + "mlp.c_fc.bias"]);
    for (float& e : hr_) e = gelu(e);
    add_into(got_mlp, conv1d(hr_, T, m[l + "mlp.c_proj.weight"], ir, H, nullptr));
  }
  // Row biases are whole on every rank (RowBias::all_ranks) and added once, after the sum.
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t o = 0; o < H; ++o) {
      got_attn[t * H + o] += s.ranks[0][l + "attn.c_proj.bias"][o];
      got_mlp[t * H + o] += s.ranks[static_cast<std::size_t>(w - 1)][l + "mlp.c_proj.bias"][o];
    }
  expect_close(got_attn, want_attn, "gpt2 attention");
  expect_close(got_mlp, want_mlp, "gpt2 mlp");
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, Numeric, ::testing::Values(1, 2, 4, 8));

}  // namespace
}  // namespace hubload
