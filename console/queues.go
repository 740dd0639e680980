package console

import (
	"context"
	"net/http"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// statsTimeout bounds reading one queue's stats.
const statsTimeout = 5 * time.Second

type queueRow struct {
	Name     string
	Stats    storagefirst.QueueStats
	HasStats bool
	HasDead  bool
	Err      string
}

type overviewData struct {
	Base      string
	Queues    []queueRow
	At        time.Time
	Workflows bool
}

func (c *Console) queueRows(ctx context.Context) []queueRow {
	rows := make([]queueRow, 0, len(c.cfg.Queues))
	for _, q := range c.cfg.Queues {
		row := queueRow{Name: q.Name, HasStats: q.Stats != nil, HasDead: q.Dead != nil}
		if q.Stats != nil {
			sctx, cancel := context.WithTimeout(ctx, statsTimeout)
			st, err := q.Stats.Stats(sctx)
			cancel()
			if err != nil {
				row.Err = "stats unavailable: " + err.Error()
				row.HasStats = false
			}
			row.Stats = st
		}
		rows = append(rows, row)
	}
	return rows
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "overview", "Queues",
		overviewData{Base: c.cfg.Path, Queues: c.queueRows(r.Context()), At: time.Now(), Workflows: c.cfg.Workflows != nil})
}

// queuesFragment is the queue table alone, for the overview's refresh script.
func (c *Console) queuesFragment(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "queues-fragment", "", overviewData{Base: c.cfg.Path, Queues: c.queueRows(r.Context()), At: time.Now()})
}
