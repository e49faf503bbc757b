//! The scale plot: launch cost, destroy cost and the harness's memory against the number of live
//! containers, harness beside crun, as a self-contained SVG (no plotting crate: three small line
//! charts with a log-scaled x axis are a few dozen lines of SVG).

use std::fmt::Write;

/// One line of a chart: a name, a colour and its points (x = live containers, y).
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title, the y axis's unit and its lines.
pub struct Chart<'a> {
    pub title: &'a str,
    pub unit: &'a str,
    pub series: Vec<Series<'a>>,
}

const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 220.0;
const MARGIN: f64 = 44.0;

/// The charts side by side, as an SVG document.
pub fn svg(charts: &[Chart<'_>]) -> String {
    let total = WIDTH * charts.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(s, r#"<rect width="{total}" height="{HEIGHT}" fill="white"/>"#);
    for (i, chart) in charts.iter().enumerate() {
        draw(&mut s, chart, i as f64 * WIDTH);
    }
    s.push_str("</svg>\n");
    s
}

fn draw(s: &mut String, chart: &Chart<'_>, left: f64) {
    let points = chart.series.iter().flat_map(|l| l.points.iter());
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.filter(|(x, y)| *x > 0.0 && y.is_finite()).copied().unzip();
    if xs.is_empty() {
        return;
    }
    let (x_min, x_max) =
        (xs.iter().copied().fold(f64::MAX, f64::min).log10(), xs.iter().copied().fold(0.0, f64::max).log10());
    let y_max = ys.iter().copied().fold(0.0, f64::max) * 1.1;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let plot_w = WIDTH - 2.0 * MARGIN;
    let plot_h = HEIGHT - 2.0 * MARGIN;
    let span = if x_max > x_min { x_max - x_min } else { 1.0 };
    let px = |x: f64| left + MARGIN + (x.log10() - x_min) / span * plot_w;
    let py = |y: f64| HEIGHT - MARGIN - y / y_max * plot_h;
    let _ = writeln!(
        s,
        r#"<text x="{}" y="16" text-anchor="middle" font-size="12">{}</text>"#,
        left + WIDTH / 2.0,
        chart.title
    );
    let (x0, y0) = (left + MARGIN, HEIGHT - MARGIN);
    let _ = writeln!(s, r#"<path d="M{x0},{} V{y0} H{}" stroke="black" fill="none"/>"#, MARGIN, x0 + plot_w);
    for tick in [0.0, 0.5, 1.0] {
        let y = y_max * tick;
        let _ =
            writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{:.1}</text>"#, x0 - 4.0, py(y) + 3.0, y);
    }
    let _ =
        writeln!(s, r#"<text x="{}" y="{}" font-size="9">{}</text>"#, left + 4.0, MARGIN - 8.0, chart.unit);
    let mut ticks: Vec<f64> = xs.clone();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">{x}</text>"#, px(x), y0 + 14.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">live containers</text>"#,
        x0 + plot_w / 2.0,
        y0 + 28.0
    );
    for (i, line) in chart.series.iter().enumerate() {
        let path: Vec<String> = line
            .points
            .iter()
            .filter(|(x, y)| *x > 0.0 && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        if path.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            r#"<polyline points="{}" stroke="{}" stroke-width="2" fill="none"/>"#,
            path.join(" "),
            line.colour
        );
        let ly = MARGIN + 4.0 + 12.0 * i as f64;
        let _ = writeln!(s, r#"<text x="{}" y="{ly}" fill="{}">{}</text>"#, x0 + 8.0, line.colour, line.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_drawn_with_its_name() {
        let chart = Chart {
            title: "launch",
            unit: "ms",
            series: vec![
                Series { name: "harness", colour: "blue", points: vec![(10.0, 2.0), (1000.0, 2.5)] },
                Series { name: "crun", colour: "red", points: vec![(10.0, 6.0), (1000.0, 7.0)] },
            ],
        };
        let svg = svg(&[chart]);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">harness<") && svg.contains(">crun<") && svg.contains(">1000<"));
    }
}
