package plugintest

import (
	"fmt"
	"sort"
	"strings"
)

// Markdown writes the report as a Markdown document: counts by status, then every test that did
// not pass, grouped by status and reason, with what happened. intro is written under the title.
func (r *Report) Markdown(title, intro string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	if intro != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(intro))
	}
	fmt.Fprintf(&b, "| outcome | tests |\n|---|---:|\n")
	for _, s := range []NodeStatus{NodePass, NodeWrongResult, NodeRunError, NodeLoadFailure, NodeUnsupportedType} {
		fmt.Fprintf(&b, "| %s | %d |\n", s, r.Count(s))
	}
	fmt.Fprintf(&b, "| **total** | **%d** |\n\n", len(r.Results))

	for _, s := range []NodeStatus{NodeWrongResult, NodeRunError, NodeLoadFailure, NodeUnsupportedType} {
		groups := map[string][]NodeResult{}
		for _, res := range r.Results {
			if res.Status == s {
				groups[res.Reason] = append(groups[res.Reason], res)
			}
		}
		if len(groups) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s (%d)\n\n", s, r.Count(s))
		reasons := make([]string, 0, len(groups))
		for k := range groups {
			reasons = append(reasons, k)
		}
		// Largest groups first, then by name, so that the document is stable.
		sort.Slice(reasons, func(i, j int) bool {
			if len(groups[reasons[i]]) != len(groups[reasons[j]]) {
				return len(groups[reasons[i]]) > len(groups[reasons[j]])
			}
			return reasons[i] < reasons[j]
		})
		for _, reason := range reasons {
			fmt.Fprintf(&b, "### %s (%d)\n\n", reason, len(groups[reason]))
			for _, res := range groups[reason] {
				opset := fmt.Sprintf("opset %d", res.Opset)
				if res.Opset == 0 {
					opset = "no ai.onnx opset"
				}
				fmt.Fprintf(&b, "- `%s` (%s; %s): %s\n", res.Name, strings.Join(uniq(res.Ops), ", "), opset, res.Detail)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	if len(out) > 4 {
		out = append(out[:4], "…")
	}
	return out
}
