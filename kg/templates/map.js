/* CZT-KG relationship map: vis-network DataSets from the nodes, edges and options pyvis assembled
 * (kg/visualize.py), plus search, filters, neighbour highlighting and tooltips. Every string from
 * the data is shown with textContent or as a canvas label, never parsed as HTML, so names and
 * sentences cannot inject markup.
 *
 * Data (kg/visualize.py MapModel.page_data): vis {nodes, edges, options} as pyvis holds them
 * (node i and edge i have id i); nodeInfo[i] {t type index, a aliases, d document indices,
 * m metrics, r strongest edge ids, c centre}; edgeInfo[i] {r relation indices, w weight,
 * d directed, e [[sentence, document index]], n evidence count, o role, v via, sc score,
 * p shared partners, l label when lazyLabels}; documents [[id, title, date]]; types and
 * relations (the legend). With lazyLabels (large maps) node labels are given once drawable and
 * edge labels only to the focused entity's edges.
 */
(function () {
  'use strict';

  var DATA = JSON.parse(document.getElementById('map-data').textContent);
  var TYPES = DATA.types, RELATIONS = DATA.relations, DOCS = DATA.documents;
  var VN = DATA.vis.nodes, VE = DATA.vis.edges;
  var NI = DATA.nodeInfo, EI = DATA.edgeInfo;
  var FONT = DATA.font;
  var LAZY_LABELS = DATA.lazyLabels === true;

  // Label styles (face, colour, halo) are global options; items carry only their font size.
  // Dimming changes colour and halo, undimming restores them.
  var LABEL = {color: '#1f2937', strokeWidth: 3}, DIM_LABEL = {color: '#cbd5e1', strokeWidth: 0};
  if (LAZY_LABELS) DIM_LABEL = {color: 'rgba(0,0,0,0)', strokeWidth: 0};  // too many to read
  var EDGE_LABEL = {color: '#4b5563', strokeWidth: 3};
  var DIM_EDGE_LABEL = {color: 'rgba(0,0,0,0)', strokeWidth: 0};
  var DIM_NODE = {background: '#eef1f5', border: '#dde2e8',
                  highlight: {background: '#eef1f5', border: '#94a3b8'},
                  hover: {background: '#eef1f5', border: '#94a3b8'}};
  var DIM_EDGE = {color: '#e2e8f0', highlight: '#e2e8f0', hover: '#e2e8f0', inherit: false,
                  opacity: 0.6};

  function label(i) { return NAMES[i]; }

  // ----- state ---------------------------------------------------------------------------
  var typeOn = TYPES.map(function () { return true; });
  var relationOn = RELATIONS.map(function () { return true; });
  var focus = null;                                      // focused node id, or null
  var nodeState = VN.map(function () { return ''; });   // '' | 'hidden' | 'dim' (as drawn)
  var edgeState = VE.map(function () { return ''; });
  var adjacency = VN.map(function () { return []; });   // node → incident edge ids
  VE.forEach(function (e, i) {
    adjacency[e.from].push(i);
    if (e.to !== e.from) adjacency[e.to].push(i);
  });

  // ----- vis DataSets: pyvis's items as they are ------------------------------------------
  // Large maps measure labels only when they would be drawn (see syncLabels): vis-network
  // measures the label of every node it draws or fits, seconds for 10,000 nodes.
  var NAMES = VN.map(function (n) { return n.label; });
  if (LAZY_LABELS) VN.forEach(function (n) { delete n.label; });
  var labelled = VN.map(function () { return !LAZY_LABELS; });
  var nodes = new vis.DataSet(VN);
  var edges = new vis.DataSet(VE);

  var container = document.getElementById('map');
  var network = new vis.Network(container, {nodes: nodes, edges: edges}, DATA.vis.options);
  // A small API for scripts and tests, filled in below (everything it does is also reachable
  // from the page); it exists before the first drawing, which may happen synchronously.
  var api = {network: network, nodes: nodes, edges: edges, data: DATA, ready: false};
  window.cztMap = api;

  // ----- filters and highlighting --------------------------------------------------------
  function edgeVisible(i) {
    var e = VE[i];
    return nodeState[e.from] !== 'hidden' && nodeState[e.to] !== 'hidden' &&
      EI[i].r.some(function (r) { return relationOn[r]; });
  }

  /** Recompute every node's and edge's state and push only the changes to the DataSets. */
  function apply() {
    var near = null;
    if (focus !== null) {
      near = {};
      near[focus] = true;
      adjacency[focus].forEach(function (i) {
        if (EI[i].r.some(function (r) { return relationOn[r]; })) {
          near[VE[i].from] = true;
          near[VE[i].to] = true;
        }
      });
    }
    var nodeUpdates = [];
    VN.forEach(function (n, i) {
      var state = !typeOn[NI[i].t] ? 'hidden' : (near && !near[i] ? 'dim' : '');
      if (state === nodeState[i]) return;
      nodeState[i] = state;
      nodeUpdates.push({id: i, hidden: state === 'hidden',
                        color: state === 'dim' ? DIM_NODE : TYPES[NI[i].t].color,
                        font: state === 'dim' ? DIM_LABEL : LABEL});
    });
    var edgeUpdates = [];
    VE.forEach(function (e, i) {
      var state = !edgeVisible(i) ? 'hidden' :
        (focus !== null && e.from !== focus && e.to !== focus ? 'dim' : '');
      if (LAZY_LABELS && state === '' && focus !== null) state = 'labelled';
      if (state === edgeState[i]) return;
      edgeState[i] = state;
      var update = {id: i, hidden: state === 'hidden',
                    color: state === 'dim' ? DIM_EDGE : e.color,
                    font: state === 'dim' ? DIM_EDGE_LABEL : EDGE_LABEL};
      // Large maps label only the focused entity's edges (measuring every label is slow).
      if (LAZY_LABELS) update.label = state === 'labelled' ? EI[i].l : '';
      edgeUpdates.push(update);
    });
    if (nodeUpdates.length) nodes.update(nodeUpdates);
    if (edgeUpdates.length) edges.update(edgeUpdates);
    updateStats();
  }

  var stats = document.getElementById('stats');
  var statsText = stats.textContent;
  function updateStats() {
    var shownNodes = nodeState.filter(function (s) { return s !== 'hidden'; }).length;
    var shownEdges = edgeState.filter(function (s) { return s !== 'hidden'; }).length;
    stats.textContent = shownNodes === VN.length && shownEdges === VE.length ? statsText :
      statsText + '（显示 ' + shownNodes + ' 个实体 · ' + shownEdges + ' 条关系）';
  }

  function syncLegend() {
    document.querySelectorAll('input[data-type]').forEach(function (box) {
      box.checked = typeOn[+box.getAttribute('data-type')];
      box.parentNode.classList.toggle('off', !box.checked);
    });
    document.querySelectorAll('input[data-relation]').forEach(function (box) {
      box.checked = relationOn[+box.getAttribute('data-relation')];
      box.parentNode.classList.toggle('off', !box.checked);
    });
  }

  function filtersChanged() {
    if (focus !== null && !typeOn[NI[focus].t]) clearFocus(false);
    syncLegend();
    apply();
  }

  document.getElementById('legend').addEventListener('change', function (event) {
    var box = event.target;
    if (box.hasAttribute('data-type')) typeOn[+box.getAttribute('data-type')] = box.checked;
    if (box.hasAttribute('data-relation')) {
      relationOn[+box.getAttribute('data-relation')] = box.checked;
    }
    filtersChanged();
  });
  document.querySelectorAll('button[data-all]').forEach(function (button) {
    button.addEventListener('click', function () {
      var on = button.getAttribute('data-on') === '1';
      var list = button.getAttribute('data-all') === 'types' ? typeOn : relationOn;
      for (var i = 0; i < list.length; i++) list[i] = on;
      filtersChanged();
    });
  });

  function focusNode(id, move) {
    if (!typeOn[NI[id].t]) {  // a search hit of a hidden type: show that type again
      typeOn[NI[id].t] = true;
      syncLegend();
    }
    focus = id;
    apply();
    network.selectNodes([id]);
    showDetails(id);
    if (move) {
      // vis-network animates frame by frame: on a large map, jump instead
      network.focus(id, {scale: Math.max(network.getScale(), 1.1),
                         animation: LAZY_LABELS ? false :
                           {duration: 400, easingFunction: 'easeInOutQuad'}});
      scheduleLabels();
    }
  }

  function clearFocus(redraw) {
    focus = null;
    network.unselectAll();
    details.hidden = true;
    if (redraw !== false) apply();
  }

  network.on('click', function (params) {
    hideTooltip();
    if (params.nodes.length) focusNode(params.nodes[0], false);
    else if (params.edges.length) showEdgeDetails(params.edges[0]);
    else if (focus !== null) clearFocus();
    else details.hidden = true;
  });

  function reset() {
    for (var i = 0; i < typeOn.length; i++) typeOn[i] = true;
    for (var j = 0; j < relationOn.length; j++) relationOn[j] = true;
    search.value = '';
    closeResults();
    syncLegend();
    clearFocus();
    fitView(true);
  }
  document.getElementById('reset').addEventListener('click', reset);
  document.getElementById('fit').addEventListener('click', function () { fitView(true); });

  /** Show every visible entity: the bounds of their positions (plus room for labels). */
  function fitView(animate) {
    var ids = VN.map(function (n, i) { return i; }).filter(function (i) {
      return nodeState[i] !== 'hidden';
    });
    if (!ids.length) return;
    var positions = network.getPositions(ids);
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    ids.forEach(function (i) {
      var p = positions[i], r = VN[i].size;
      minX = Math.min(minX, p.x - r); maxX = Math.max(maxX, p.x + r);
      minY = Math.min(minY, p.y - r); maxY = Math.max(maxY, p.y + r + 20);  // label below
    });
    var width = container.clientWidth || 1, height = container.clientHeight || 1;
    var scale = Math.min(width / (1.1 * (maxX - minX + 80)), height / (1.1 * (maxY - minY + 40)));
    network.moveTo({
      position: {x: (minX + maxX) / 2, y: (minY + maxY) / 2},
      scale: Math.max(Math.min(scale, 1.5), 0.02),
      animation: animate && !LAZY_LABELS ? {duration: 300, easingFunction: 'easeInOutQuad'} :
        false
    });
  }

  /** Large maps: give their labels to the nodes in view whose label is big enough to be drawn
   *  at this zoom (labels are kept once given). */
  var labelTimer = null;
  function scheduleLabels() {
    if (!LAZY_LABELS || labelTimer !== null) return;
    labelTimer = setTimeout(function () { labelTimer = null; syncLabels(); }, 60);
  }
  function syncLabels() {
    var scale = network.getScale();
    var threshold = DATA.vis.options.nodes.scaling.label.drawThreshold;
    var w = container.clientWidth, h = container.clientHeight;
    var topLeft = network.DOMtoCanvas({x: -50, y: -50});
    var bottomRight = network.DOMtoCanvas({x: w + 50, y: h + 50});
    var todo = [];
    VN.forEach(function (n, i) {
      if (labelled[i] || n.font.size * scale < threshold - 1) return;
      todo.push(i);
    });
    if (!todo.length) return;
    var positions = network.getPositions(todo);
    var updates = [];
    todo.forEach(function (i) {
      var p = positions[i];
      if (p.x < topLeft.x || p.x > bottomRight.x || p.y < topLeft.y || p.y > bottomRight.y) return;
      labelled[i] = true;
      updates.push({id: i, label: NAMES[i]});
    });
    if (updates.length) nodes.update(updates);
  }

  // ----- text building (textContent only) ------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function row(key, value) {
    var div = el('div', 'tip-row');
    if (key) div.appendChild(el('span', 'tip-key', key));
    div.appendChild(typeof value === 'string' ? document.createTextNode(value) : value);
    return div;
  }

  function docText(index) {
    var doc = DOCS[index] || ['', '', ''];
    var text = doc[1] ? '《' + doc[1] + '》' : doc[0];
    return doc[2] ? text + ' ' + doc[2] : text;
  }

  function fmt(value) {
    return typeof value === 'number' && value % 1 !== 0 ? value.toFixed(4) : String(value);
  }

  function relationLabels(i) {
    return EI[i].r.map(function (r) { return RELATIONS[r].label; }).join('、');
  }

  function relationText(i, from) {
    var e = VE[i], info = EI[i];
    var other = e.from === from ? e.to : e.from;
    var arrow = info.d === 1 ? (e.from === from ? ' → ' : ' ← ') : ' — ';
    var weight = info.sc !== undefined ? '' : '（' + info.w + ' 条证据）';
    return relationLabels(i) + arrow + label(other) + weight;
  }

  function nodeContent(id) {
    var info = NI[id], type = TYPES[info.t];
    var box = el('div', 'tip-node');
    var head = el('div', 'tip-head');
    var chip = el('span', 'tip-type', type.label);
    chip.style.background = type.color;
    head.appendChild(chip);
    head.appendChild(document.createTextNode(label(id)));
    box.appendChild(head);
    if (info.a) box.appendChild(row('别名', info.a.join('、')));
    if (info.m) {
      var parts = [];
      if (info.m.pagerank !== undefined) parts.push('PageRank ' + fmt(info.m.pagerank));
      if (info.m.degree !== undefined) parts.push('度 ' + fmt(info.m.degree));
      if (info.m.betweenness) parts.push('中介性 ' + fmt(info.m.betweenness));
      if (parts.length) box.appendChild(row('指标', parts.join(' · ')));
    }
    if (info.d) {
      var docs = el('ul', 'tip-list');
      info.d.slice(0, 5).forEach(function (d) { docs.appendChild(el('li', '', docText(d))); });
      if (info.d.length > 5) docs.appendChild(el('li', 'tip-source', '等 ' + info.d.length + ' 篇'));
      box.appendChild(row('文档（' + info.d.length + '）', docs));
    }
    if (info.r) {
      var rels = el('ul', 'tip-list');
      info.r.forEach(function (i) { rels.appendChild(el('li', '', relationText(i, id))); });
      var total = adjacency[id].length;
      if (total > info.r.length) rels.appendChild(el('li', 'tip-source', '共 ' + total + ' 条关系'));
      box.appendChild(row('最强关系', rels));
    }
    return box;
  }

  function edgeContent(i) {
    var e = VE[i], info = EI[i];
    var suggested = info.sc !== undefined;
    var box = el('div', 'tip-edge');
    var head = el('div', 'tip-head' + (suggested ? ' tip-suggested' : ''));
    head.textContent = label(e.from) + (info.d === 1 ? ' → ' : ' — ') + label(e.to);
    box.appendChild(head);
    box.appendChild(row('关系', relationLabels(i)));
    if (suggested) {
      box.appendChild(row('', '预测的合作（非文档事实），Adamic–Adar 得分 ' + info.sc.toFixed(2)));
      if (info.p) box.appendChild(row('共同伙伴', info.p.join('、')));
    }
    if (info.o) box.appendChild(row('角色', info.o));
    if (info.v) box.appendChild(row('经由', info.v.join('、')));
    if (info.e) {
      var list = el('div');
      info.e.forEach(function (item) {
        var quote = el('div', 'tip-evidence');
        quote.appendChild(el('div', 'tip-sentence', item[0]));
        quote.appendChild(el('div', 'tip-source', docText(item[1])));
        list.appendChild(quote);
      });
      if (info.n > info.e.length) {
        list.appendChild(el('div', 'tip-source', '另有 ' + (info.n - info.e.length) + ' 条证据'));
      }
      box.appendChild(row('证据（' + info.n + '）', list));
    }
    return box;
  }

  // ----- tooltip and details panel -------------------------------------------------------
  var tooltip = document.getElementById('tooltip');
  var details = document.getElementById('details');
  var detailsBody = document.getElementById('details-body');

  function showTooltip(content, pointer) {
    tooltip.replaceChildren(content);
    tooltip.hidden = false;
    var box = container.getBoundingClientRect();  // pointer.DOM is relative to the canvas
    var px = box.left + pointer.DOM.x, py = box.top + pointer.DOM.y;
    var x = px + 14, y = py + 14;
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    if (x + w > window.innerWidth - 8) x = Math.max(8, px - w - 14);
    if (y + h > window.innerHeight - 8) y = Math.max(8, window.innerHeight - h - 8);
    tooltip.style.left = x + 'px';
    tooltip.style.top = y + 'px';
  }
  function hideTooltip() { tooltip.hidden = true; }

  network.on('hoverNode', function (p) { showTooltip(nodeContent(p.node), p.pointer); });
  network.on('hoverEdge', function (p) { showTooltip(edgeContent(p.edge), p.pointer); });
  network.on('blurNode', hideTooltip);
  network.on('blurEdge', hideTooltip);
  network.on('dragStart', hideTooltip);
  network.on('zoom', hideTooltip);
  network.on('zoom', scheduleLabels);
  network.on('dragEnd', scheduleLabels);
  network.on('animationFinished', scheduleLabels);
  container.addEventListener('mouseleave', hideTooltip);

  function showDetails(id) {
    detailsBody.replaceChildren(nodeContent(id));
    details.hidden = false;
  }
  function showEdgeDetails(i) {
    detailsBody.replaceChildren(edgeContent(i));
    details.hidden = false;
  }
  document.getElementById('details-close').addEventListener('click', function () {
    details.hidden = true;
  });

  // ----- search --------------------------------------------------------------------------
  var search = document.getElementById('search');
  var results = document.getElementById('search-results');
  var hits = [], active = -1;
  var keys = VN.map(function (n, i) {
    return [NAMES[i].toLowerCase()].concat((NI[i].a || []).map(function (a) {
      return a.toLowerCase();
    }));
  });

  /** Nodes whose name or alias contains the query: exact, then prefix, then substring. */
  function find(query, limit) {
    var q = String(query).trim().toLowerCase();
    if (!q) return [];
    var found = [];
    keys.forEach(function (names, i) {
      var best = 9, via = null;
      names.forEach(function (name, k) {
        var at = name.indexOf(q);
        var rank = name === q ? 0 : (at === 0 ? 2 : (at > 0 ? 4 : 9));
        if (rank < 9 && k > 0) rank += 1;  // alias hits after label hits of the same kind
        if (rank < best) { best = rank; via = k > 0 ? NI[i].a[k - 1] : null; }
      });
      if (best < 9) found.push({id: i, rank: best, via: via});
    });
    found.sort(function (a, b) {
      return a.rank - b.rank || VN[b.id].size - VN[a.id].size ||
        (label(a.id) < label(b.id) ? -1 : 1);
    });
    return found.slice(0, limit || 20);
  }

  function closeResults() {
    results.hidden = true;
    search.setAttribute('aria-expanded', 'false');
    active = -1;
  }

  function renderResults() {
    hits = find(search.value, 20);
    results.replaceChildren();
    active = hits.length ? 0 : -1;
    if (!search.value.trim()) { closeResults(); return; }
    if (!hits.length) results.appendChild(el('li', 'empty', '没有匹配的实体'));
    hits.forEach(function (hit, k) {
      var li = el('li');
      li.setAttribute('role', 'option');
      li.setAttribute('data-node', String(hit.id));
      li.setAttribute('aria-selected', k === active ? 'true' : 'false');
      li.appendChild(el('span', 'hit', label(hit.id)));
      var meta = TYPES[NI[hit.id].t].label + (hit.via ? ' · 别名 ' + hit.via : '');
      li.appendChild(el('span', 'meta', meta));
      li.addEventListener('mousedown', function (event) {
        event.preventDefault();  // keep focus in the box until the choice is made
        choose(hit.id);
      });
      results.appendChild(li);
    });
    results.hidden = false;
    search.setAttribute('aria-expanded', 'true');
  }

  function choose(id) {
    search.value = label(id);
    closeResults();
    focusNode(id, true);
  }

  function moveActive(step) {
    if (!hits.length) return;
    active = (active + step + hits.length) % hits.length;
    results.querySelectorAll('li').forEach(function (li, k) {
      li.setAttribute('aria-selected', k === active ? 'true' : 'false');
      if (k === active) li.scrollIntoView({block: 'nearest'});
    });
  }

  search.addEventListener('input', renderResults);
  search.addEventListener('focus', function () { if (search.value.trim()) renderResults(); });
  search.addEventListener('blur', closeResults);
  search.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown') { event.preventDefault(); moveActive(1); }
    else if (event.key === 'ArrowUp') { event.preventDefault(); moveActive(-1); }
    else if (event.key === 'Escape') closeResults();
    else if (event.key === 'Enter') {
      event.preventDefault();
      if (results.hidden) hits = find(search.value, 20);
      if (hits.length) choose(hits[Math.max(active, 0)].id);
    }
  });

  Object.assign(api, {
    find: find, focusNode: focusNode, clearFocus: clearFocus, reset: reset,
    setType: function (key, on) {
      TYPES.forEach(function (t, i) { if (t.key === key) typeOn[i] = on; });
      filtersChanged();
    },
    setRelation: function (key, on) {
      RELATIONS.forEach(function (r, i) { if (r.key === key) relationOn[i] = on; });
      filtersChanged();
    },
    visibleNodeIds: function () {
      return VN.map(function (n, i) { return i; }).filter(function (i) {
        return nodeState[i] !== 'hidden';
      });
    },
    edgeMidpoint: function (i) {  // page coordinates of an edge's middle (for pointer tests)
      var p = network.getPositions([VE[i].from, VE[i].to]);
      var a = p[VE[i].from], b = p[VE[i].to];
      var dom = network.canvasToDOM({x: (a.x + b.x) / 2, y: (a.y + b.y) / 2});
      var box = container.getBoundingClientRect();
      return {x: box.left + dom.x, y: box.top + dom.y};
    }
  });

  // ----- first drawing: physics settles (bounded iterations), then stops -----------------
  var loading = document.getElementById('loading');
  /** Fit the map to the window; the page is interactive once that view is drawn. */
  function fitThenReady() {
    network.once('afterDrawing', function () {
      loading.hidden = true;
      api.ready = true;
      window.cztReady = true;
      window.cztReadyAt = performance.now();  // ms since navigation start (benchmarks/)
      document.body.setAttribute('data-ready', '1');
    });
    fitView(false);  // requests the next drawing (no synchronous one: it would draw twice)
    syncLabels();
  }
  if (DATA.physics && VN.length) {
    network.on('stabilizationProgress', function (p) {
      loading.textContent = '正在布局… ' + Math.round(100 * p.iterations / p.total) + '%';
    });
    network.once('stabilizationIterationsDone', function () {
      network.setOptions({physics: {enabled: false}});  // settled: nothing moves from now on
      fitThenReady();
    });
  } else {
    fitThenReady();
  }
})();
