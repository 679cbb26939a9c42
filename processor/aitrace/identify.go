package aitrace

import (
	"encoding/json"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

// maxOutputScan bounds the OpenInference output.value read for the
// response id and model; larger outputs are not parsed.
const maxOutputScan = 256 << 10

// identify fills what a call span lacks and the pricing needs: the request
// and response models an OpenInference span keeps only in JSON, the
// provider (from framework metadata, the API host or the model name, with
// the basis recorded) and the operation of a call whose instrumentation
// names none. It returns the operation.
func (p *traceProcessor) identify(w *workspace, span ptrace.Span, info *spanInfo, op string) string {
	attrs := span.Attributes()
	if w.hasT(tOIKind) && (op == "chat" || op == "text_completion") {
		p.openInferenceModels(w, attrs)
	}
	if provider := w.getStr(attrs, tProvider); provider == "" {
		p.inferProvider(w, attrs)
	} else if provider == "openai" {
		// The OpenAI SDK's Azure client is reported as openai; its host tells.
		if host := serverHost(attrs); host != "" && strings.HasPrefix(genai.ProviderFromHost(host), "azure.") {
			attrs.PutStr(genai.AIOpsProviderReported, provider)
			nv := attrs.PutEmpty(genai.ProviderName)
			nv.SetStr(genai.ProviderFromHost(host))
			w.cache(tProvider, nv)
			attrs.PutStr(genai.AIOpsProviderInferred, genai.InferredFromServer)
		}
	}
	if (op == "chat" || op == "text_completion") && genai.EmbeddingModel(w.getStr(attrs, tRequestModel)) {
		// Langfuse types embeddings as generations and Traceloop's Bedrock
		// instrumentation as completions: the model says what they are.
		op = "embeddings"
		attrs.PutStr(genai.OperationName, op)
		attrs.PutStr(genai.AIOpsOperationInferred, genai.InferredFromModel)
		return op
	}
	if op != "" || info.wrapper || info.guardrail || info.vercelWrapper {
		return op
	}
	// A model call without an operation name (Bedrock InvokeModel spans and
	// hand-made spans): usage or a client span naming a model says it is one.
	model := w.getStr(attrs, tRequestModel)
	if model == "" {
		model = w.getStr(attrs, tResponseModel)
	}
	usage := w.hasT(tInput) || w.hasT(tOutput)
	if model == "" || !usage && span.Kind() != ptrace.SpanKindClient {
		return op
	}
	op = "chat"
	if genai.EmbeddingModel(model) {
		op = "embeddings"
	}
	attrs.PutStr(genai.OperationName, op)
	attrs.PutStr(genai.AIOpsOperationInferred, genai.InferredFromModel)
	w.setT(tOperation)
	return op
}

func serverHost(attrs pcommon.Map) string {
	if h := strAttr(attrs, genai.ServerAddress); h != "" {
		return h
	}
	if u := strAttr(attrs, genai.URLFull); u != "" {
		return genai.HostOf(u)
	}
	return ""
}

// inferProvider names the provider of a call that does not, and records how.
func (p *traceProcessor) inferProvider(w *workspace, attrs pcommon.Map) {
	provider, basis := "", ""
	if meta := strAttr(attrs, genai.OIMetadata); meta != "" {
		if v := jsonStringField(meta, "ls_provider"); v != "" {
			provider, basis = providerName(v), genai.InferredFromFramework
		}
	}
	if provider == "" {
		if host := serverHost(attrs); host != "" {
			if provider = genai.ProviderFromHost(host); provider != "" {
				basis = genai.InferredFromServer
			}
		}
	}
	if provider == "" {
		for _, slot := range [2]int{tRequestModel, tResponseModel} {
			if provider = genai.ProviderFromModel(w.getStr(attrs, slot)); provider != "" {
				basis = genai.InferredFromModel
				break
			}
		}
	}
	if provider == "" {
		return
	}
	nv := attrs.PutEmpty(genai.ProviderName)
	nv.SetStr(provider)
	w.cache(tProvider, nv)
	w.setT(tProvider)
	attrs.PutStr(genai.AIOpsProviderInferred, basis)
}

// jsonStringField finds "key":"value" in flat JSON text without parsing
// the rest; LangChain's metadata is small and written by one library.
func jsonStringField(s, key string) string {
	i := strings.Index(s, `"`+key+`"`)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(s[i+len(key)+2:], " \t\r\n")
	if !strings.HasPrefix(rest, ":") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if !strings.HasPrefix(rest, `"`) {
		return ""
	}
	var v string
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	raw := rest[:end+2]
	if strings.Contains(raw, `\`) {
		if json.Unmarshal([]byte(rest), &v) != nil {
			return ""
		}
		return v
	}
	return raw[1 : len(raw)-1]
}

// openInferenceModels reads the models OpenInference keeps outside its
// model key. Its OpenAI instrumentation overwrites llm.model_name with the
// response snapshot and leaves the request model in
// llm.invocation_parameters; its LangChain instrumentation puts the request
// model there and the response only inside output.value.
func (p *traceProcessor) openInferenceModels(w *workspace, attrs pcommon.Map) {
	if _, ok := attrs.Get(genai.OIRequestModel); ok {
		return // the newer keys name both models
	}
	oiModel := strAttr(attrs, genai.OIModelName)
	req := w.getStr(attrs, tRequestModel)
	if oiModel != "" && req == oiModel {
		if inv := strAttr(attrs, "llm.invocation_parameters"); inv != "" {
			if m := jsonStringField(inv, "model"); m != "" && m != oiModel {
				// llm.model_name was the response: swap it into its place.
				if !w.hasT(tResponseModel) {
					nv := attrs.PutEmpty(genai.ResponseModel)
					nv.SetStr(oiModel)
					w.cache(tResponseModel, nv)
					w.setT(tResponseModel)
				}
				nv := attrs.PutEmpty(genai.RequestModel)
				nv.SetStr(m)
				w.cache(tRequestModel, nv)
				attrs.PutStr(genai.AIOpsModelFrom, "invocation_parameters")
			}
		}
	}
	needModel := !w.hasT(tResponseModel)
	_, haveID := attrs.Get(genai.ResponseID)
	if !needModel && haveID {
		return
	}
	out := strAttr(attrs, genai.OIOutputValue)
	if len(out) < 2 || len(out) > maxOutputScan || out[0] != '{' || !strings.Contains(strAttr(attrs, genai.OIOutputMime), "json") {
		return
	}
	var r oiResponse
	if json.Unmarshal([]byte(out), &r) != nil {
		return
	}
	id, model := r.ID, r.Model
	if len(r.Generations) > 0 && len(r.Generations[0]) > 0 {
		kw := r.Generations[0][0].Message.Kwargs
		id, model = kw.ID, kw.ResponseMetadata.ModelName
	}
	if needModel && model != "" {
		nv := attrs.PutEmpty(genai.ResponseModel)
		nv.SetStr(model)
		w.cache(tResponseModel, nv)
		w.setT(tResponseModel)
	}
	if !haveID && id != "" {
		attrs.PutStr(genai.ResponseID, id)
	}
}

// oiResponse is the part of an OpenInference output.value that names the
// response: a provider response ({id, model}) or LangChain's LLMResult.
type oiResponse struct {
	ID          string `json:"id"`
	Model       string `json:"model"`
	Generations [][]struct {
		Message struct {
			Kwargs struct {
				ID               string `json:"id"`
				ResponseMetadata struct {
					ModelName string `json:"model_name"`
				} `json:"response_metadata"`
			} `json:"kwargs"`
		} `json:"message"`
	} `json:"generations"`
}
