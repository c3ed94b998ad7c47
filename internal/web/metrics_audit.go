package web

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shebao/shebao/internal/audit"
)

// auditHeadMetrics shows in /metrics the audit head the server last took (RecordAuditHead), so
// that the monitoring system keeps a copy of it outside the database. All series of one scrape
// describe the same head: they are built under one lock from one value.
//
// The hash is a label of an info metric, as Prometheus carries text. Its value changes only when
// the server takes a head with new entries (every --audit-head-every), so the info metric makes at
// most one new series per interval.
type auditHeadMetrics struct {
	mu     sync.Mutex
	head   audit.Head
	at     time.Time
	taken  bool
	broken bool

	seq, info, when, lost *prometheus.Desc
}

func newAuditHeadMetrics() *auditHeadMetrics {
	return &auditHeadMetrics{
		seq:  prometheus.NewDesc("shebao_audit_head_seq", "Sequence number of the audit head the server last took.", nil, nil),
		info: prometheus.NewDesc("shebao_audit_head_info", "The audit head the server last took: its sequence number and SM3 hash (always 1).", []string{"seq", "hash"}, nil),
		when: prometheus.NewDesc("shebao_audit_head_timestamp_seconds", "When the server last took the audit head (Unix time).", nil, nil),
		lost: prometheus.NewDesc("shebao_audit_head_broken", "1 once a head this server took is no longer in the chain (entries deleted or rewritten); stays 1 until restart.", nil, nil),
	}
}

func (m *auditHeadMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.seq
	ch <- m.info
	ch <- m.when
	ch <- m.lost
}

func (m *auditHeadMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	broken := 0.0
	if m.broken {
		broken = 1
	}
	ch <- prometheus.MustNewConstMetric(m.lost, prometheus.GaugeValue, broken)
	if !m.taken {
		return // no head taken yet: nothing to show rather than a false zero
	}
	ch <- prometheus.MustNewConstMetric(m.seq, prometheus.GaugeValue, float64(m.head.Seq))
	ch <- prometheus.MustNewConstMetric(m.info, prometheus.GaugeValue, 1, strconv.FormatInt(m.head.Seq, 10), m.head.Hash)
	ch <- prometheus.MustNewConstMetric(m.when, prometheus.GaugeValue, float64(m.at.UnixMilli())/1000)
}

// RecordAuditHead shows a head the server took at the given time; broken says that the head taken
// before it was no longer in the chain.
func (s *Server) RecordAuditHead(h audit.Head, at time.Time, broken bool) {
	m := s.metrics.auditHead
	m.mu.Lock()
	defer m.mu.Unlock()
	m.head, m.at, m.taken = h, at, true
	m.broken = m.broken || broken
}
