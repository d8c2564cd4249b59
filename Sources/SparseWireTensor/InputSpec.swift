/// Input geometry of a dataset and the network that reads it: channels, height, width, classes.
public struct InputSpec: Equatable, Sendable {
    public var channels: Int, height: Int, width: Int, classes: Int
    public init(channels: Int, height: Int, width: Int, classes: Int) {
        self.channels = channels; self.height = height; self.width = width; self.classes = classes
    }
    public var features: Int { channels * height * width }
}
