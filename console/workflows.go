package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/storagefirst/storagefirst-go/workflow"
)

type workflowsData struct {
	Lookup     string
	Listing    bool
	Executions []workflow.Execution
	Next       string
}

// workflows lists executions when the store can list them, and offers a lookup by
// ID.
func (c *Console) workflows(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Workflows == nil {
		c.fail(w, r, http.StatusNotFound, errors.New("no workflow store is configured"))
		return
	}
	v := r.URL.Query()
	if id := v.Get("id"); id != "" {
		http.Redirect(w, r, c.cfg.Path+"/workflows/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	data := workflowsData{}
	if l, ok := c.cfg.Workflows.(ExecutionLister); ok {
		data.Listing = true
		limit := c.pageSize(v)
		execs, err := l.ListExecutions(r.Context(), v.Get("after"), limit)
		if err != nil {
			c.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("listing executions: %w", err))
			return
		}
		data.Executions = execs
		if len(execs) == limit {
			data.Next = execs[len(execs)-1].ID
		}
	}
	c.render(w, r, http.StatusOK, "workflows", "Workflow executions", data)
}

func (c *Console) workflowShow(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Workflows == nil {
		c.fail(w, r, http.StatusNotFound, errors.New("no workflow store is configured"))
		return
	}
	id := r.PathValue("id")
	exec, err := c.cfg.Workflows.Get(r.Context(), id)
	switch {
	case errors.Is(err, workflow.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("there is no execution %s", id))
	case err != nil:
		c.fail(w, r, http.StatusServiceUnavailable, err)
	default:
		c.render(w, r, http.StatusOK, "workflow-show", "Execution "+id, exec)
	}
}
